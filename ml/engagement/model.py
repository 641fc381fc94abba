"""The engagement classifier: a small Keras 3 CNN on face crops, trained with augmentation and early stopping.

It predicts the finer classes it was given (e.g. the public set's six states, or an emotion set's expressions);
`engaged` maps each class to engaged / not engaged, and the engaged probability of a face is the sum over the
engaged classes. Training holds out a grouped test split (people, sessions and near-duplicate frames kept on one
side, see `dataset.grouped_split`) for the reported figures, and a grouped validation split of the rest for early
stopping. A time budget stops training between batches; the best epoch's weights are kept (after the first third
of the epochs, while the batch-norm statistics settle, the validation loss is not yet trusted).

The default architecture (four 3x3 conv blocks of 16-32-64-64 filters on 64x64 grey crops, ~61 k parameters,
~25 MFLOP per face) trains on the default generated set (2,160 faces) in about a minute on 2 cores. TensorFlow
is imported only here and in `export`, i.e. in the training worker.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.engagement.crops import INPUT_SIZE, MARGIN
from ml.engagement.dataset import FaceSet, grouped_split, split_groups, suggest_engaged
from ml.engagement.evaluate import held_out_metrics

MIN_CLASS_IMAGES = 10
FILTERS = (16, 32, 64, 64)
TEST_SIZE = 0.2


class InsufficientDataError(ValueError):
    """The faces cannot train (or evaluate) an engagement model; the message says what is missing."""


@dataclass(frozen=True)
class EpochProgress:
    """Where training stands after an epoch (or when the time budget stops it)."""

    epoch: int  # 1-based
    epochs: int
    accuracy: float
    val_accuracy: float | None
    loss: float
    val_loss: float | None
    elapsed_s: float
    remaining_s: float

    @property
    def percent(self) -> int:
        return min(99, round(100 * self.epoch / self.epochs))

    @property
    def message(self) -> str:
        accuracy = f"accuracy {self.accuracy:.0%}"
        if self.val_accuracy is not None:
            accuracy += f" (validation {self.val_accuracy:.0%})"
        return f"epoch {self.epoch}/{self.epochs}, {accuracy}, about {_duration(self.remaining_s)} left"


@dataclass
class EngagementClassifier:
    """A trained Keras model with what reading its outputs needs: classes, their engaged mapping, input shape."""

    keras_model: Any
    classes: list[str]
    engaged: dict[str, bool]
    input_size: int = INPUT_SIZE
    colour: bool = False

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        """Class probabilities (n x classes) from TensorFlow itself (serving uses the exported model)."""
        return np.asarray(self.keras_model.predict(np.asarray(inputs, np.float32), verbose=0))

    def metadata(self) -> dict:
        """What a scorer needs beside the exported graph (written next to it as JSON)."""
        return {
            "task": "engagement",
            "classes": self.classes,
            "engaged": self.engaged,
            "input_size": self.input_size,
            "channels": 3 if self.colour else 1,
            "margin": MARGIN,
            "input_range": [0, 255],
        }


@dataclass
class EngagementTraining:
    """A trained classifier with its held-out figures, settings, data summary and training curves."""

    model: EngagementClassifier
    metrics: dict
    params: dict
    data_summary: dict
    history: dict = field(default_factory=dict)
    test_index: np.ndarray = field(default_factory=lambda: np.empty(0, int))


def train(
    faces: FaceSet,
    *,
    engaged: Mapping[str, bool] | None = None,
    epochs: int = 30,
    batch_size: int = 64,
    time_budget_s: float | None = None,
    patience: int = 6,
    learning_rate: float = 3e-3,
    test_size: float = TEST_SIZE,
    validation_size: float = 0.15,
    augment: bool = True,
    seed: int = 0,
    progress: Callable[[EpochProgress], None] | None = None,
) -> EngagementTraining:
    """Train on a grouped split of `faces`, evaluate on the held-out groups.

    `engaged` maps every class to engaged (True) or not; when omitted it is suggested from the class names and
    must then cover every class. `time_budget_s` bounds the fitting (data preparation and evaluation come on top).
    """
    started = time.perf_counter()
    mapping = _engaged_mapping(faces, engaged)
    _check_classes(faces)
    train_index, test_index, groups = held_out_split(faces, test_size=test_size, seed=seed)
    faces = dataclasses.replace(faces, groups=groups)
    fit_index, val_index = _split(faces.subset(train_index), validation_size, seed + 1, "early stopping")
    fit_index, val_index = train_index[fit_index], train_index[val_index]

    keras = _keras()
    keras.utils.set_random_seed(seed)
    classes = faces.classes
    y = np.array([classes.index(label) for label in faces.labels])
    size, channels = faces.inputs.shape[1], faces.inputs.shape[3]
    network, classifier_network = build_network(size, channels, len(classes), augment=augment)
    steps = epochs * math.ceil(len(fit_index) / batch_size)
    network.compile(
        # Cosine decay settles the last epochs, where a constant rate keeps the validation loss jumping.
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    stop_early = keras.callbacks.EarlyStopping(
        # The validation loss jumps while the batch-norm statistics settle: judge only after the first third.
        monitor="val_loss",
        patience=patience,
        restore_best_weights=True,
        start_from_epoch=epochs // 3,
    )
    budget = _budget_and_progress(epochs, time_budget_s, progress)
    fit_started = time.perf_counter()
    fitted = network.fit(
        faces.inputs[fit_index],
        y[fit_index],
        validation_data=(faces.inputs[val_index], y[val_index]),
        epochs=epochs,
        batch_size=batch_size,
        class_weight=_balanced_weights(y[fit_index], len(classes)),
        callbacks=[stop_early, budget],
        shuffle=True,
        verbose=0,
    )
    fit_seconds = time.perf_counter() - fit_started
    classifier = EngagementClassifier(classifier_network, classes, mapping, size, channels == 3)

    probabilities = classifier.predict_proba(faces.inputs[test_index])
    metrics = held_out_metrics(
        faces.labels[test_index],
        probabilities,
        classes,
        mapping,
        train_labels=faces.labels[train_index].tolist(),
        clusters=groups[test_index],
        seed=seed,
    )
    history = {k: [float(v) for v in values] for k, values in fitted.history.items()}
    epochs_run = len(history.get("loss", []))
    best_epoch = stop_early.best_epoch + 1 if stop_early.best_weights is not None else epochs_run  # weights kept
    metrics["detail"] |= {
        "curves": history,
        "best_epoch": best_epoch,
        "test_faces_found": float(faces.face_found[test_index].mean()),
    }
    params = {
        "architecture": "cnn",
        "filters": list(FILTERS),
        "input_size": size,
        "channels": int(channels),
        "classes": classes,
        "engaged": mapping,
        "epochs": epochs,
        "epochs_run": epochs_run,
        "stopped_by": budget.stopped_by or ("early_stopping" if stop_early.stopped_epoch else "epochs"),
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "augment": augment,
        "time_budget_s": time_budget_s,
        "test_size": test_size,
        "validation_size": validation_size,
        "seed": seed,
    }
    data_summary = {
        "rows": len(faces),
        "hash": _data_hash(faces),
        "train_rows": len(fit_index),
        "validation_rows": len(val_index),
        "test_rows": len(test_index),
        "groups": len(set(faces.groups.tolist())),
        "class_counts": {c: int((faces.labels == c).sum()) for c in classes},
        "faces_found_share": float(faces.face_found.mean()),
        "fit_seconds": round(fit_seconds, 1),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return EngagementTraining(classifier, metrics, params, data_summary, history, test_index)


def held_out_split(
    faces: FaceSet, *, test_size: float = TEST_SIZE, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train rows, test rows, every row's split group) of the evaluation split `train` holds out.

    The same faces, size and seed give the same split, so another model (production, at the gate) can be scored on
    exactly the rows a candidate never saw.
    """
    groups = split_groups(faces)
    train_index, test_index = _split(dataclasses.replace(faces, groups=groups), test_size, seed, "evaluation")
    return train_index, test_index, groups


def build_network(size: int, channels: int, n_classes: int, *, augment: bool = True) -> tuple[Any, Any]:
    """(trainer, classifier): the classifier is the CNN alone, what is saved and exported; the trainer puts the
    augmentation layers in front of it (sharing its weights), so random ops never reach the exported graph.

    Augmentation is mirror images and lighting only. The crops already vary in position and scale as the detector
    boxes do, and tilt is itself a cue; random shifts, zooms and rotations on top cost ~10 points of held-out
    accuracy on the generated set and slowed learning (measured: 90 % none, 87 % flip + lighting, 81 % with shifts).
    """
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input((size, size, channels), name="faces")
    x = layers.Rescaling(1 / 255.0)(inputs)
    for index, filters in enumerate(FILTERS):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)  # few steps per epoch: let the statistics keep up
        x = layers.Activation("relu")(x)
        if index < len(FILTERS) - 1:
            x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="classes")(x)
    classifier = keras.Model(inputs, outputs, name="engagement")
    if not augment:
        return classifier, classifier
    augmentation = keras.Sequential(
        [
            layers.RandomFlip("horizontal"),
            layers.RandomBrightness(0.1, value_range=(0.0, 255.0)),
            layers.RandomContrast(0.15, value_range=(0.0, 255.0)),
        ],
        name="augmentation",
    )
    trainer_inputs = keras.Input((size, size, channels), name="faces")
    trainer = keras.Model(trainer_inputs, classifier(augmentation(trainer_inputs)), name="engagement_training")
    return trainer, classifier


def _engaged_mapping(faces: FaceSet, engaged: Mapping[str, bool] | None) -> dict[str, bool]:
    classes = faces.classes
    mapping = dict(engaged) if engaged is not None else suggest_engaged(classes)
    missing = [c for c in classes if mapping.get(c) is None]
    if missing:
        raise InsufficientDataError(
            f"say whether each class counts as engaged or not engaged; unmapped: {', '.join(missing)}"
        )
    if len({bool(mapping[c]) for c in classes}) < 2:
        raise InsufficientDataError("map at least one class to engaged and one to not engaged")
    return {c: bool(mapping[c]) for c in classes}


def _check_classes(faces: FaceSet) -> None:
    small = {c: int((faces.labels == c).sum()) for c in faces.classes}
    small = {c: n for c, n in small.items() if n < MIN_CLASS_IMAGES}
    if small:
        listed = ", ".join(f"{c} ({n})" for c, n in small.items())
        raise InsufficientDataError(f"each class needs at least {MIN_CLASS_IMAGES} images; too few in {listed}")


def _split(faces: FaceSet, size: float, seed: int, purpose: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        first, second = grouped_split(faces, test_size=size, seed=seed, near_duplicates=False)
    except ValueError as exc:
        raise InsufficientDataError(f"cannot hold out data for {purpose}: {exc}") from exc
    if len(set(faces.labels[first].tolist())) < len(faces.classes):
        raise InsufficientDataError(
            f"after holding out data for {purpose} some class has no training images left; add more people/sessions"
        )
    return first, second


def _data_hash(faces: FaceSet) -> str:
    """sha256 of the crops and their labels: two trainings on the same data share it."""
    digest = hashlib.sha256(np.ascontiguousarray(faces.inputs).tobytes())
    digest.update("\n".join(faces.labels.tolist()).encode())
    return digest.hexdigest()


def _balanced_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    counts = np.bincount(y, minlength=n_classes)
    return {k: float(len(y) / (n_classes * counts[k])) if counts[k] else 0.0 for k in range(n_classes)}


def _duration(seconds: float) -> str:
    seconds = max(0, math.ceil(seconds))
    return f"{seconds} s" if seconds < 90 else f"{math.ceil(seconds / 60)} min"


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up banner is not for our logs
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    return keras


def _budget_and_progress(epochs: int, budget_s: float | None, progress: Callable[[EpochProgress], None] | None):
    """A Keras callback: report each epoch; stop between batches once the time budget is spent."""
    keras = _keras()

    class BudgetAndProgress(keras.callbacks.Callback):
        stopped_by = ""

        def on_train_begin(self, logs=None):
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if budget_s is not None and time.perf_counter() - self.started > budget_s:
                self.model.stop_training = True
                self.stopped_by = "time_budget"

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            elapsed = time.perf_counter() - self.started
            remaining = elapsed / (epoch + 1) * (epochs - epoch - 1)
            if budget_s is not None:
                remaining = min(remaining, max(0.0, budget_s - elapsed))
            if progress is not None:
                progress(
                    EpochProgress(
                        epoch=epoch + 1,
                        epochs=epochs,
                        accuracy=float(logs.get("accuracy", 0.0)),
                        val_accuracy=_maybe_float(logs.get("val_accuracy")),
                        loss=float(logs.get("loss", 0.0)),
                        val_loss=_maybe_float(logs.get("val_loss")),
                        elapsed_s=elapsed,
                        remaining_s=0.0 if self.stopped_by else remaining,
                    )
                )

    return BudgetAndProgress()


def _maybe_float(value) -> float | None:
    return None if value is None else float(value)
