"""Engagement in classroom images: face detection, a Keras classifier trained on face crops, ONNX serving.

Modules: `detect` (Haar cascade), `crops` (the shared preprocessing), `dataset` (generated and imported labelled
faces, grouped splits), `model` (training, TensorFlow), `evaluate` (figures), `export` (.keras + ONNX), `serve`
(ONNX Runtime scoring, no TensorFlow). Import the module you need; this package imports nothing heavy.
"""
