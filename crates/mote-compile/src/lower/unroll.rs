//! Control flow with a static trip count unrolled before lowering, so its body compiles like
//! straight-line code: `Scan` over inputs whose scanned axis has a static length (the opset 8
//! form with its batch axis row by row, when `sequence_lens` is absent or the full length),
//! and `Loop` with a constant trip count whose condition stays true (absent or constant true on
//! entry, and passed through unchanged by the body). Each iteration is a copy of the body's nodes
//! with fresh values; scanned slices are `Gather`s of one index, per-iteration outputs are
//! stacked by `Unsqueeze` + `Concat`. Anything else stays as it is (the lowering then refuses it
//! with the reason). Bodies of at most [`MAX_UNROLLED_NODES`] nodes in all are unrolled.

use mote_ir::ops::control::{ControlOp, ScanAttrs};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Node, Op, Tensor, TensorType, ValueId, ValueType};

/// Most body nodes all iterations of one node may add.
pub const MAX_UNROLLED_NODES: usize = 20_000;

/// Unrolls every top-level Scan and Loop of `g` that fits (see the module doc); returns how many.
pub fn unroll(g: &mut Graph) -> usize {
    let nodes = std::mem::take(&mut g.nodes);
    let mut out = Vec::with_capacity(nodes.len());
    let mut count = 0;
    for n in nodes {
        let new = match &n.op {
            Op::Control(ControlOp::Scan(s)) if s.batch_axis_v8 => scan8(g, &n, s),
            Op::Control(ControlOp::Scan(s)) => scan(g, &n, s),
            Op::Control(ControlOp::Loop { body }) => looped(g, &n, body),
            _ => None,
        };
        match new {
            Some(new) => {
                out.extend(new);
                count += 1;
            }
            None => out.push(n),
        }
    }
    g.nodes = out;
    count
}

fn unknown() -> ValueType {
    ValueType::Tensor(TensorType { dtype: None, shape: None })
}

fn static_dims(g: &Graph, v: ValueId) -> Option<Vec<usize>> {
    let ValueType::Tensor(t) = &g.value(v).ty else { return None };
    t.shape.as_ref()?.iter().map(|d| d.known()).collect()
}

/// The constant scalar of `v`, as i64.
fn const_int(g: &Graph, v: ValueId) -> Option<i64> {
    match g.value(v).init.as_ref()?.to_i64_vec().ok()?.as_slice() {
        [x] => Some(*x),
        _ => None,
    }
}

/// Emits nodes into `out`, naming values after the unrolled node.
struct Emit<'a> {
    g: &'a mut Graph,
    out: Vec<Node>,
    name: String,
}

impl Emit<'_> {
    fn konst(&mut self, what: &str, t: Tensor) -> ValueId {
        self.g.add_const(format!("{}/{what}", self.name), t)
    }

    fn node(&mut self, what: &str, op: Op, inputs: Vec<ValueId>) -> ValueId {
        let name = format!("{}/{what}", self.name);
        let y = self.g.add_value(name.clone(), unknown());
        self.out.push(Node { name, op, inputs: inputs.into_iter().map(Some).collect(), outputs: vec![Some(y)] });
        y
    }

    /// Binds the existing value `y` to `x` (an Identity).
    fn bind(&mut self, what: &str, x: ValueId, y: ValueId) {
        let name = format!("{}/{what}", self.name);
        self.out.push(Node { name, op: Op::Shape(ShapeOp::Identity), inputs: vec![Some(x)], outputs: vec![Some(y)] });
    }

    /// The body's constants, added once to the enclosing graph.
    fn body_consts(&mut self, body: &Graph) -> Vec<Option<ValueId>> {
        let mut map = vec![None; body.values.len()];
        for (i, v) in body.values.iter().enumerate() {
            if let Some(t) = &v.init {
                map[i] = Some(self.g.add_const(format!("{}/{}", self.name, v.name), t.clone()));
            }
        }
        for c in &body.outer_refs {
            if let Some(m) = map.get_mut(c.inner.index()) {
                *m = Some(c.outer);
            }
        }
        map
    }

    /// One iteration of `body` with its inputs bound to `ins`; returns its outputs.
    fn iteration(
        &mut self,
        body: &Graph,
        shared: &[Option<ValueId>],
        ins: &[ValueId],
        it: &str,
    ) -> Option<Vec<ValueId>> {
        let mut map = shared.to_vec();
        for (&b, &v) in body.inputs.iter().zip(ins) {
            map[b.index()] = Some(v);
        }
        for (i, v) in body.values.iter().enumerate() {
            if map[i].is_none() {
                map[i] = Some(self.g.add_value(format!("{}/{it}/{}", self.name, v.name), unknown()));
            }
        }
        copy_nodes(&body.nodes, &map, &format!("{}/{it}", self.name), &mut self.out)?;
        let f = |v: ValueId| map.get(v.index()).copied().flatten();
        body.outputs.iter().map(|&o| f(o)).collect()
    }

    /// Stacks `parts` along a new `axis` (in order).
    fn stack(&mut self, what: &str, parts: &[ValueId], axis: i64) -> ValueId {
        let axes = self.konst(&format!("{what}_axes"), Tensor::from_vec(vec![1], vec![axis]).expect("axes"));
        let ups: Vec<ValueId> = parts
            .iter()
            .enumerate()
            .map(|(t, &p)| self.node(&format!("{what}_{t}"), Op::Shape(ShapeOp::Unsqueeze), vec![p, axes]))
            .collect();
        self.node(what, Op::Shape(ShapeOp::Concat { axis }), ups)
    }
}

fn scan(g: &mut Graph, n: &Node, s: &ScanAttrs) -> Option<Vec<Node>> {
    let m = s.num_scan_inputs;
    let ins: Vec<ValueId> = n.inputs.iter().copied().collect::<Option<Vec<_>>>()?;
    let states = ins.len().checked_sub(m)?;
    // The scanned axis of every scan input.
    let mut axes = Vec::with_capacity(m);
    for j in 0..m {
        let rank = static_dims(g, ins[states + j])?.len() as i64;
        let a = s.input_axes.get(j).copied().unwrap_or(0);
        axes.push(if a < 0 { a + rank } else { a });
    }
    let mut e = Emit { g, out: Vec::new(), name: n.name.clone() };
    let shared = e.body_consts(&s.body);
    let (carried, stacked) = scan_core(&mut e, s, &shared, &ins[..states], &ins[states..], &axes, "")?;
    for (i, &v) in carried.iter().enumerate() {
        if let Some(y) = n.outputs.get(i).copied().flatten() {
            e.bind(&format!("state{i}"), v, y);
        }
    }
    for (q, v) in stacked.into_iter().enumerate() {
        if let Some(y) = n.outputs.get(states + q).copied().flatten() {
            e.bind(&format!("scan{q}"), v, y);
        }
    }
    Some(e.out)
}

/// Scan-8: every value has a leading batch axis and the first input is the optional
/// `sequence_lens` (absent, or a constant equal to the scanned length everywhere). Each batch
/// row is scanned as Scan-9 would (its slices are `Gather`s of the row) and the results are
/// stacked along the batch axis again.
fn scan8(g: &mut Graph, n: &Node, s: &ScanAttrs) -> Option<Vec<Node>> {
    let m = s.num_scan_inputs;
    let lens = n.inputs.first().copied()?;
    let ins: Vec<ValueId> = n.inputs.get(1..)?.iter().copied().collect::<Option<Vec<_>>>()?;
    let states = ins.len().checked_sub(m)?;
    let dims: Vec<Vec<usize>> = ins.iter().map(|&v| static_dims(g, v)).collect::<Option<_>>()?;
    let batch = *dims.first()?.first()?;
    if dims.iter().any(|d| d.first() != Some(&batch)) || dims[states..].iter().any(|d| d.len() < 2) {
        return None;
    }
    let trips = dims.get(states).map(|d| d[1]);
    if let Some(l) = lens {
        let v = g.value(l).init.as_ref()?.to_i64_vec().ok()?;
        if v.len() != batch || v.iter().any(|&x| Some(x) != trips.map(|t| t as i64)) {
            return None;
        }
    }
    if batch == 0 || batch.saturating_mul(s.body.nodes.len()) > MAX_UNROLLED_NODES {
        return None;
    }
    let mut e = Emit { g, out: Vec::new(), name: n.name.clone() };
    let shared = e.body_consts(&s.body);
    let axes = vec![0; m];
    let mut rows: Vec<Vec<ValueId>> = vec![Vec::with_capacity(batch); n.outputs.len()];
    for b in 0..batch {
        let at = e.konst(&format!("b{b}/index"), Tensor::scalar(b as i64));
        let mut row = Vec::with_capacity(ins.len());
        for (i, &v) in ins.iter().enumerate() {
            let r = e.node(&format!("b{b}/row{i}"), Op::Shape(ShapeOp::Gather { axis: 0 }), vec![v, at]);
            // The row's type: the input's without the batch axis (the scan needs its length).
            let dtype = e.g.value(v).ty.as_tensor().and_then(|t| t.dtype);
            e.g.value_mut(r).ty = ValueType::Tensor(TensorType {
                dtype,
                shape: Some(dims[i][1..].iter().map(|&d| mote_ir::Dim::Known(d)).collect()),
            });
            row.push(r);
        }
        let (carried, stacked) =
            scan_core(&mut e, s, &shared, &row[..states], &row[states..], &axes, &format!("b{b}/"))?;
        for (k, v) in carried.into_iter().chain(stacked).enumerate() {
            rows.get_mut(k)?.push(v);
        }
    }
    for (k, parts) in rows.into_iter().enumerate() {
        if let Some(y) = n.outputs[k] {
            let v = e.stack(&format!("batch{k}"), &parts, 0);
            e.bind(&format!("out{k}"), v, y);
        }
    }
    Some(e.out)
}

/// The iterations of a Scan-9 body over `scans` (scanned along `axes`) from the states
/// `init`: the final states and the stacked scan outputs (`None` if it does not fit).
fn scan_core(
    e: &mut Emit<'_>,
    s: &ScanAttrs,
    shared: &[Option<ValueId>],
    init: &[ValueId],
    scans: &[ValueId],
    axes: &[i64],
    tag: &str,
) -> Option<(Vec<ValueId>, Vec<ValueId>)> {
    let body = &*s.body;
    let (states, m) = (init.len(), scans.len());
    let k = body.outputs.len().checked_sub(states)?;
    if body.inputs.len() != states + m || m == 0 {
        return None;
    }
    // The common trip count.
    let mut trips = None;
    for (j, &x) in scans.iter().enumerate() {
        let len = *static_dims(e.g, x)?.get(usize::try_from(axes[j]).ok()?)?;
        if trips.is_some_and(|t| t != len) {
            return None;
        }
        trips = Some(len);
    }
    let trips = trips?;
    if trips == 0 || trips.saturating_mul(body.nodes.len() + 2 * (m + k)) > MAX_UNROLLED_NODES {
        return None;
    }
    let mut carried: Vec<ValueId> = init.to_vec();
    let mut stacked: Vec<Vec<ValueId>> = vec![Vec::with_capacity(trips); k];
    for t in 0..trips {
        let mut it_ins = carried.clone();
        for j in 0..m {
            let idx = if s.input_reverse.get(j).copied().unwrap_or(false) { trips - 1 - t } else { t };
            let at = e.konst(&format!("{tag}{t}/index{j}"), Tensor::scalar(idx as i64));
            let slice =
                e.node(&format!("{tag}{t}/slice{j}"), Op::Shape(ShapeOp::Gather { axis: axes[j] }), vec![scans[j], at]);
            it_ins.push(slice);
        }
        let outs = e.iteration(body, shared, &it_ins, &format!("{tag}{t}"))?;
        carried = outs[..states].to_vec();
        for (q, &o) in outs[states..].iter().enumerate() {
            stacked[q].push(o);
        }
    }
    let mut ys = Vec::with_capacity(k);
    for (q, mut parts) in stacked.into_iter().enumerate() {
        if s.output_reverse.get(q).copied().unwrap_or(false) {
            parts.reverse();
        }
        let axis = s.output_axes.get(q).copied().unwrap_or(0);
        ys.push(e.stack(&format!("{tag}scan_out{q}"), &parts, axis));
    }
    Some((carried, ys))
}

fn looped(g: &mut Graph, n: &Node, body: &Graph) -> Option<Vec<Node>> {
    let trips = usize::try_from(const_int(g, n.input(0)?)?).ok()?;
    if let Some(c) = n.input(1)
        && const_int(g, c)? == 0
    {
        return None;
    }
    let carried_n = n.inputs.len().checked_sub(2)?;
    if body.inputs.len() != carried_n + 2 || body.outputs.len() < carried_n + 1 {
        return None;
    }
    // The condition must pass through the body unchanged (else termination depends on data).
    let cond_in = body.inputs[1];
    let passes = body.outputs[0] == cond_in
        || body.nodes.iter().any(|x| {
            matches!(x.op, Op::Shape(ShapeOp::Identity))
                && x.outputs.first() == Some(&Some(body.outputs[0]))
                && x.input(0) == Some(cond_in)
        });
    let k = body.outputs.len() - 1 - carried_n;
    if !passes || trips == 0 || trips.saturating_mul(body.nodes.len() + 2 * k + 2) > MAX_UNROLLED_NODES {
        return None;
    }
    let mut carried: Vec<ValueId> = n.inputs[2..].iter().copied().collect::<Option<Vec<_>>>()?;
    let mut e = Emit { g, out: Vec::new(), name: n.name.clone() };
    let shared = e.body_consts(body);
    let yes = e.konst("cond", Tensor::scalar(true));
    let mut stacked: Vec<Vec<ValueId>> = vec![Vec::with_capacity(trips); k];
    for t in 0..trips {
        let i = e.konst(&format!("{t}/iter"), Tensor::scalar(t as i64));
        let mut it_ins = vec![i, yes];
        it_ins.extend(&carried);
        let outs = e.iteration(body, &shared, &it_ins, &t.to_string())?;
        carried = outs[1..1 + carried_n].to_vec();
        for (q, &o) in outs[1 + carried_n..].iter().enumerate() {
            stacked[q].push(o);
        }
    }
    for (i, &v) in carried.iter().enumerate() {
        if let Some(y) = n.outputs.get(i).copied().flatten() {
            e.bind(&format!("state{i}"), v, y);
        }
    }
    for (q, parts) in stacked.into_iter().enumerate() {
        let Some(y) = n.outputs.get(carried_n + q).copied().flatten() else { continue };
        let v = e.stack(&format!("scan_out{q}"), &parts, 0);
        e.bind(&format!("scan{q}"), v, y);
    }
    Some(e.out)
}

/// Appends copies of `nodes` (a subgraph's) to `out`, named `prefix/name`, with every value
/// (inputs, outputs, subgraph captures) renamed through `map` (`None` for an unmapped value).
pub(crate) fn copy_nodes(
    nodes: &[mote_ir::Node],
    map: &[Option<ValueId>],
    prefix: &str,
    out: &mut Vec<mote_ir::Node>,
) -> Option<()> {
    let f = |v: ValueId| map.get(v.index()).copied().flatten();
    for n in nodes {
        let mut n = n.clone();
        n.name = format!("{prefix}/{}", n.name);
        for i in n.inputs.iter_mut().flatten() {
            *i = f(*i)?;
        }
        for o in n.outputs.iter_mut().flatten() {
            *o = f(*o)?;
        }
        for sub in n.op.subgraphs_mut() {
            for c in &mut sub.outer_refs {
                c.outer = f(c.outer)?;
            }
        }
        out.push(n);
    }
    Some(())
}
