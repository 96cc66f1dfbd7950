#!/usr/bin/env python3
"""Runs an ONNX model in onnxruntime (CPU, one thread, default graph optimizations) on one .npy
input and writes its first output as .npy. Used by crates/mote-cli/tests/onnxruntime.rs.

  ort-run.py MODEL.onnx INPUT.npy OUTPUT.npy
"""
import sys
import numpy as np
import onnxruntime as ort

model, src, dst = sys.argv[1:4]
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
s = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
y = s.run(None, {s.get_inputs()[0].name: np.load(src)})[0]
np.save(dst, y)
