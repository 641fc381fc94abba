"""Engagement in classroom images: face detection, a Keras classifier trained on face crops, ONNX serving.

Modules: `detect` (Haar cascade), `crops` (the shared preprocessing), `dataset` (generated and imported labelled
faces, grouped splits), `model` (training, TensorFlow), `evaluate` (held-out figures, baseline, gate), `export`
(.keras + ONNX), `serve` (ONNX Runtime scoring, no TensorFlow), `task` (the lifecycle's view), `datasets` (imported
labelled sets on disk and the training data), `uploads` (uploaded images: storage, scores, retention). Import the
module you need; this package imports nothing heavy.
"""
