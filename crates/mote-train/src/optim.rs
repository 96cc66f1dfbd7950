//! Optimizers (SGD with momentum and Nesterov, Adam, AdamW) and learning-rate schedules.

/// Which update rule.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Rule {
    /// SGD; `momentum` 0 is plain SGD. Weight decay is added to the gradient (L2).
    Sgd { momentum: f32, nesterov: bool },
    /// Adam; with `decoupled` (AdamW) the weight decay shrinks the weights directly instead of
    /// joining the gradient.
    Adam { beta1: f32, beta2: f32, eps: f32, decoupled: bool },
}

/// An optimizer over a fixed list of parameter tensors, with its per-parameter state.
#[derive(Clone, Debug)]
pub struct Optimizer {
    pub rule: Rule,
    pub weight_decay: f32,
    /// First and second moments (momentum buffer and, for Adam, the squared-gradient average).
    state: Vec<(Vec<f32>, Vec<f32>)>,
    steps: u32,
}

impl Optimizer {
    pub fn new(rule: Rule, weight_decay: f32) -> Optimizer {
        Optimizer { rule, weight_decay, state: Vec::new(), steps: 0 }
    }

    /// The per-parameter moments (in the order of the parameters `step` gets) and the step count.
    pub fn state(&self) -> (&[(Vec<f32>, Vec<f32>)], u32) {
        (&self.state, self.steps)
    }

    /// An optimizer continuing from saved moments and step count (see [`Optimizer::state`]).
    pub fn resume(rule: Rule, weight_decay: f32, state: Vec<(Vec<f32>, Vec<f32>)>, steps: u32) -> Optimizer {
        Optimizer { rule, weight_decay, state, steps }
    }

    /// One update of every parameter `p[i]` from its gradient `g[i]` at learning rate `lr`.
    pub fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]], lr: f32) {
        if self.state.len() != params.len() {
            self.state = params.iter().map(|p| (vec![0.0; p.len()], vec![0.0; p.len()])).collect();
        }
        self.steps = self.steps.saturating_add(1);
        let wd = self.weight_decay;
        for ((p, g), (m, v)) in params.iter_mut().zip(grads).zip(&mut self.state) {
            match self.rule {
                Rule::Sgd { momentum, nesterov } => {
                    for i in 0..p.len() {
                        let mut d = g[i] + wd * p[i];
                        if momentum != 0.0 {
                            m[i] = momentum * m[i] + d;
                            d = if nesterov { d + momentum * m[i] } else { m[i] };
                        }
                        p[i] -= lr * d;
                    }
                }
                Rule::Adam { beta1, beta2, eps, decoupled } => {
                    let t = self.steps as i32;
                    let (c1, c2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
                    for i in 0..p.len() {
                        let mut d = g[i];
                        if decoupled {
                            p[i] -= lr * wd * p[i];
                        } else {
                            d += wd * p[i];
                        }
                        m[i] = beta1 * m[i] + (1.0 - beta1) * d;
                        v[i] = beta2 * v[i] + (1.0 - beta2) * d * d;
                        p[i] -= lr * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
                    }
                }
            }
        }
    }
}

/// How the learning rate changes over the steps of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decay {
    Constant,
    /// Multiplied by `gamma` every `every` steps.
    Step {
        every: usize,
        gamma: f32,
    },
    /// Cosine from the base rate down to `min` at the last step.
    Cosine {
        min: f32,
    },
}

/// A learning-rate schedule: linear warm-up over `warmup` steps, then `decay` until `total`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub base: f32,
    pub decay: Decay,
    pub warmup: usize,
    pub total: usize,
}

impl Schedule {
    /// The rate at step `s` (0-based).
    pub fn at(&self, s: usize) -> f32 {
        if s < self.warmup {
            return self.base * (s + 1) as f32 / self.warmup as f32;
        }
        let (s, span) = (s - self.warmup, self.total.saturating_sub(self.warmup).max(1));
        match self.decay {
            Decay::Constant => self.base,
            Decay::Step { every, gamma } => self.base * gamma.powi((s / every.max(1)) as i32),
            Decay::Cosine { min } => {
                let f = (s.min(span) as f32 / span as f32 * std::f32::consts::PI).cos();
                min + (self.base - min) * 0.5 * (1.0 + f)
            }
        }
    }
}
