"""Synthetic faces with engagement cues, labelled like the public student-engagement image set.

The generative story: a *subject* is one synthetic person (skin tone, face shape, hair, eye size and spacing);
a subject sits several *sessions* (background, lighting direction and strength, camera distance, sensor noise);
in each session they show every engagement state in a few *frames*. A state draws its cues from overlapping
ranges, so the classes are learnable but not trivially separable:

- Engaged/engaged: eyes open, looking at the camera, head frontal, neutral or smiling mouth.
- Engaged/confused: one eyebrow raised, head tilted, mouth skewed or a little open, sometimes a hand on the chin.
- Engaged/frustrated: brows drawn down into a V, narrowed eyes, a frown, sometimes a hand on the forehead.
- Not engaged/Looking Away: head and gaze turned to one side.
- Not engaged/bored: heavy half-closed lids, gaze down, often the head resting on a hand.
- Not engaged/drowsy: eyes closed, often yawning, head drooping and tilted.

Faces are drawn with Pillow at twice the output size and downsampled (anti-aliasing), with soft eye sockets, a
shaded nose bridge and cheeks, which is what OpenCV's Haar frontal-face cascade keys on, so the detector finds the
frontal ones. `compose_classroom` pastes several heads at known boxes on a classroom-like backdrop for detection
tests and the benchmark. Everything comes from one seeded generator, so a seed reproduces the images exactly.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Class folder (the public set's layout) -> whether it counts as engaged in the summary.
CLASSES: dict[str, bool] = {
    "Engaged/confused": True,
    "Engaged/engaged": True,
    "Engaged/frustrated": True,
    "Not engaged/Looking Away": False,
    "Not engaged/bored": False,
    "Not engaged/drowsy": False,
}
SKIN_TONES = np.array(
    [(255, 224, 196), (241, 194, 164), (224, 172, 138), (198, 134, 96), (161, 102, 70), (120, 75, 50), (88, 56, 40)],
    dtype=np.float64,
)
HAIR_COLOURS = np.array(
    [(25, 20, 18), (60, 40, 28), (105, 70, 40), (170, 130, 80), (200, 170, 120), (130, 60, 30), (150, 150, 150)],
    dtype=np.float64,
)
SUPERSAMPLE = 2
DEFAULT_SIZE = 128  # pixels of one generated face image (square)


@dataclass(frozen=True)
class Subject:
    """One synthetic person: what stays the same across their frames."""

    subject_id: int
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str  # short | long | bald
    face_width: float  # share of the image width
    face_ratio: float  # height / width
    eye_size: float
    eye_spacing: float
    iris: tuple[int, int, int]
    shirt: tuple[int, int, int]


@dataclass(frozen=True)
class Cues:
    """One frame's expression and pose (all relative to the face size; angles in degrees)."""

    eye_open: float = 1.0  # 0 closed .. 1 wide open
    gaze_x: float = 0.0  # -1 left .. 1 right
    gaze_y: float = 0.0  # -1 up .. 1 down
    yaw: float = 0.0  # -1 turned left .. 1 turned right
    roll: float = 0.0
    pitch: float = 0.0  # 0 level .. 1 looking down
    brow_left: float = 0.0  # raise (+) or lower (-)
    brow_right: float = 0.0
    brow_v: float = 0.0  # inner ends pulled down (frown)
    mouth_curve: float = 0.0  # smile (+) or frown (-)
    mouth_open: float = 0.0  # 0 closed .. 1 yawning
    mouth_skew: float = 0.0
    hand: str = ""  # "" | chin | cheek | forehead


@dataclass(frozen=True)
class GeneratedFace:
    """One labelled frame: `label` is the class folder (e.g. "Not engaged/drowsy")."""

    image: np.ndarray  # (size, size, 3) uint8 RGB
    label: str
    subject_id: int
    session_id: int
    frame: int
    face_box: tuple[int, int, int, int]  # x, y, width, height of the face in the image

    @property
    def engaged(self) -> bool:
        return CLASSES[self.label]

    @property
    def group(self) -> str:
        """The subject: frames of one person must stay on one side of a train/test split."""
        return f"subject{self.subject_id:03d}"

    @property
    def file_name(self) -> str:
        return f"subject{self.subject_id:03d}-session{self.session_id}-frame{self.frame:02d}.png"


@dataclass(frozen=True)
class Classroom:
    """A composed classroom-like image and the boxes (x, y, width, height) of the faces drawn on it."""

    image: np.ndarray  # (height, width, 3) uint8 RGB
    boxes: list[tuple[int, int, int, int]]
    labels: list[str]


def generate_faces(
    n_subjects: int = 24,
    *,
    sessions: int = 2,
    frames_per_class: int = 2,
    size: int = DEFAULT_SIZE,
    seed: int = 0,
) -> list[GeneratedFace]:
    """Labelled frames: every subject, in every session, shows every class `frames_per_class` times.

    The default is 24 x 2 x 6 x 2 = 576 frames of 128 x 128 pixels (about two seconds).
    """
    return list(iter_faces(n_subjects, sessions=sessions, frames_per_class=frames_per_class, size=size, seed=seed))


def iter_faces(
    n_subjects: int, *, sessions: int = 2, frames_per_class: int = 2, size: int = DEFAULT_SIZE, seed: int = 0
) -> Iterator[GeneratedFace]:
    """`generate_faces` one frame at a time (for writing large sets without holding them)."""
    rng = np.random.default_rng(seed)
    for subject_id in range(n_subjects):
        subject = random_subject(rng, subject_id)
        for session_id in range(sessions):
            scene = _random_scene(rng)
            frame = 0
            for label in CLASSES:
                for _ in range(frames_per_class):
                    cues = random_cues(rng, label)
                    image, box = _draw_face_image(rng, subject, cues, scene, size)
                    yield GeneratedFace(image, label, subject_id, session_id, frame, box)
                    frame += 1


def write_labelled_zip(faces: list[GeneratedFace], *, image_format: str = "PNG") -> bytes:
    """A zip in the public set's layout, `Engaged/confused/<subject-session-frame>.png`, as bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for face in faces:
            archive.writestr(f"{face.label}/{_named(face.file_name, image_format)}", encode(face.image, image_format))
    return buffer.getvalue()


def write_labelled_folder(faces: list[GeneratedFace], root: Path, *, image_format: str = "PNG") -> None:
    """The same layout as `write_labelled_zip`, as files under `root`."""
    for face in faces:
        path = root / face.label / _named(face.file_name, image_format)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(face.image, image_format))


def encode(image: np.ndarray, image_format: str = "PNG") -> bytes:
    """An RGB array as image file bytes (PNG, JPEG or WEBP)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=image_format, **({"quality": 92} if image_format != "PNG" else {}))
    return buffer.getvalue()


def compose_classroom(
    n_faces: int = 10,
    *,
    width: int = 1280,
    height: int = 720,
    face_size: tuple[int, int] = (60, 90),
    frontal: bool = True,
    seed: int = 0,
) -> Classroom:
    """A classroom-like image with `n_faces` heads at known, non-overlapping boxes (`face_size`: face width range).

    `frontal` keeps the heads turned at most slightly (what a frontal-face detector is expected to find);
    otherwise any class's cues are drawn, Looking Away included.
    """
    rng = np.random.default_rng(seed)
    canvas = _classroom_backdrop(rng, width, height)
    labels = list(CLASSES)
    boxes: list[tuple[int, int, int, int]] = []
    drawn: list[str] = []
    cells = _grid_cells(rng, n_faces, width, height, face_size[1] / 0.4)
    draw = ImageDraw.Draw(canvas)
    desk = _rgb(rng.uniform(90, 150, 3))
    for index in range(n_faces):
        label = labels[index % len(labels)]
        if frontal and label == "Not engaged/Looking Away":
            label = "Engaged/engaged"
        cues = random_cues(rng, label)
        if frontal:
            cues = _frontal(cues)
        subject = random_subject(rng, index)
        tile = int(rng.integers(face_size[0], face_size[1] + 1) / subject.face_width)  # face plus hair and shoulders
        head, box = _draw_head(rng, subject, cues, tile)
        cx, cy = cells[index]
        left, top = int(cx - tile / 2), int(cy - tile / 2)
        canvas.paste(head, (left, top), head)
        # A desk in front of each student hides where the shoulders end.
        draw.rectangle((left - tile * 0.1, top + tile * 0.82, left + tile * 1.1, top + tile * 1.0), fill=desk)
        boxes.append((box[0] + left, box[1] + top, box[2], box[3]))
        drawn.append(label)
    image = np.asarray(canvas.convert("RGB"))
    image = _add_noise(rng, image, float(rng.uniform(2, 5)))
    return Classroom(image=image, boxes=boxes, labels=drawn)


def random_subject(rng: np.random.Generator, subject_id: int) -> Subject:
    tone = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.93, 1.05) + rng.normal(0, 6, 3)
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] + rng.normal(0, 8, 3)
    return Subject(
        subject_id=subject_id,
        skin=_rgb(tone),
        hair=_rgb(hair),
        hair_style=str(rng.choice(["short", "long", "bald"], p=[0.55, 0.35, 0.10])),
        face_width=float(rng.uniform(0.40, 0.47)),
        face_ratio=float(rng.uniform(1.22, 1.36)),
        eye_size=float(rng.uniform(0.85, 1.15)),
        eye_spacing=float(rng.uniform(0.9, 1.1)),
        iris=_rgb(rng.choice([(70, 45, 25), (40, 30, 20), (60, 90, 130), (70, 110, 70), (110, 80, 50)])),
        shirt=_rgb(rng.uniform(30, 220, 3)),
    )


def random_cues(rng: np.random.Generator, label: str) -> Cues:
    """Cues for one frame of `label`; the ranges overlap between classes on purpose."""
    n = rng.normal
    u = rng.uniform
    side = float(rng.choice([-1.0, 1.0]))
    state = label.split("/")[-1]
    if state == "engaged":
        return Cues(
            eye_open=u(0.8, 1.0), gaze_x=n(0, 0.12), gaze_y=n(0, 0.1), yaw=n(0, 0.08), roll=n(0, 4),
            brow_left=u(0, 0.25), brow_right=u(0, 0.25), mouth_curve=u(-0.1, 0.7),
            hand=_maybe(rng, 0.05, "chin"),
        )  # fmt: skip
    if state == "confused":
        raised = u(0.5, 1.0)
        return Cues(
            eye_open=u(0.7, 1.0), gaze_x=n(0, 0.2), gaze_y=u(-0.5, 0), yaw=n(0, 0.12), roll=side * u(6, 16),
            brow_left=raised if side > 0 else u(-0.2, 0.1), brow_right=raised if side < 0 else u(-0.2, 0.1),
            mouth_curve=u(-0.3, 0.2), mouth_open=u(0, 0.25), mouth_skew=side * u(0.3, 0.8),
            hand=_maybe(rng, 0.2, "chin"),
        )  # fmt: skip
    if state == "frustrated":
        return Cues(
            eye_open=u(0.45, 0.8), gaze_x=n(0, 0.15), gaze_y=u(0, 0.4), yaw=n(0, 0.1), roll=n(0, 5),
            brow_left=u(-0.6, -0.2), brow_right=u(-0.6, -0.2), brow_v=u(0.5, 1.0), mouth_curve=u(-1.0, -0.4),
            mouth_open=u(0, 0.15), hand=_maybe(rng, 0.2, "forehead"),
        )  # fmt: skip
    if state == "Looking Away":
        return Cues(
            eye_open=u(0.75, 1.0), gaze_x=side * u(0.6, 1.0), gaze_y=n(0, 0.2), yaw=side * u(0.35, 0.75),
            roll=n(0, 5), mouth_curve=u(-0.2, 0.3), hand=_maybe(rng, 0.1, "cheek"),
        )  # fmt: skip
    if state == "bored":
        return Cues(
            eye_open=u(0.3, 0.55), gaze_x=n(0, 0.2), gaze_y=u(0.3, 0.9), yaw=n(0, 0.12), roll=n(0, 8),
            pitch=u(0.1, 0.4), mouth_curve=u(-0.3, 0.05), hand=_maybe(rng, 0.6, str(rng.choice(["chin", "cheek"]))),
        )  # fmt: skip
    if state == "drowsy":
        return Cues(
            eye_open=u(0.0, 0.15), gaze_y=0.5, yaw=n(0, 0.1), roll=side * u(4, 18), pitch=u(0.2, 0.6),
            mouth_curve=u(-0.2, 0.1), mouth_open=u(0.6, 1.0) if rng.random() < 0.45 else 0.0,
            hand=_maybe(rng, 0.25, "cheek"),
        )  # fmt: skip
    raise ValueError(f"unknown class {label!r}; expected one of {', '.join(CLASSES)}")


# --- drawing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scene:
    background: str  # plain | gradient | stripes | shelves
    colours: tuple[tuple[int, int, int], tuple[int, int, int]]
    light_angle: float
    light_strength: float
    brightness: float
    scale: float
    noise: float
    blur: float


def _random_scene(rng: np.random.Generator) -> _Scene:
    return _Scene(
        background=str(rng.choice(["plain", "gradient", "stripes", "shelves"])),
        colours=(_muted(rng), _muted(rng)),
        light_angle=float(rng.uniform(0, 2 * np.pi)),
        light_strength=float(rng.uniform(0.0, 0.35)),
        brightness=float(rng.uniform(0.75, 1.15)),
        scale=float(rng.uniform(0.9, 1.1)),
        noise=float(rng.uniform(1, 9)),
        blur=float(rng.uniform(0, 0.8)),
    )


def _draw_face_image(
    rng: np.random.Generator, subject: Subject, cues: Cues, scene: _Scene, size: int
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    canvas = _background(rng, scene, size)
    tile = int(size * scene.scale)
    head, box = _draw_head(rng, subject, cues, tile)
    jitter = rng.integers(-size // 20, size // 20 + 1, 2)
    left, top = (size - tile) // 2 + int(jitter[0]), (size - tile) // 2 + int(jitter[1])
    canvas.paste(head, (left, top), head)
    image = np.asarray(canvas.convert("RGB"), dtype=np.float64)
    image = _light(image, scene.light_angle, scene.light_strength) * scene.brightness
    if scene.blur > 0.3:
        image = np.asarray(Image.fromarray(_clip(image)).filter(ImageFilter.GaussianBlur(scene.blur)), np.float64)
    return _add_noise(rng, image, scene.noise), (box[0] + left, box[1] + top, box[2], box[3])


def _draw_head(
    rng: np.random.Generator, subject: Subject, cues: Cues, tile: int
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A head on a transparent tile and the face box within it; drawn at SUPERSAMPLEx then downsampled."""
    s = tile * SUPERSAMPLE
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    skin = subject.skin
    fw = s * subject.face_width * (1 - 0.12 * abs(cues.yaw))
    fh = s * subject.face_width * subject.face_ratio
    cx, cy = s / 2, s * 0.47
    face = (cx - fw / 2, cy - fh / 2, cx + fw / 2, cy + fh / 2)
    dark_skin = _shade(skin, 0.78)

    # Shoulders and neck first, then hair behind the head.
    draw.ellipse((cx - fw * 1.25, cy + fh * 0.42, cx + fw * 1.25, cy + fh * 1.6), fill=subject.shirt)
    draw.rectangle((cx - fw * 0.2, cy + fh * 0.3, cx + fw * 0.2, cy + fh * 0.62), fill=dark_skin)
    if subject.hair_style == "long":
        draw.ellipse((face[0] - fw * 0.12, face[1] - fh * 0.08, face[2] + fw * 0.12, cy + fh * 0.55), fill=subject.hair)
    # Ears, the far one hidden behind a turned head.
    ear_w, ear_h = fw * 0.12, fh * 0.2
    for side in (-1, 1):
        if cues.yaw * side < -0.3:
            continue
        ex = cx + side * fw / 2
        draw.ellipse((ex - ear_w, cy - ear_h * 0.6, ex + ear_w, cy + ear_h * 0.6), fill=dark_skin)
    draw.ellipse(face, fill=skin)

    # Features move with the head: yaw shifts them sideways, pitch moves them down.
    fx = cx + cues.yaw * fw * 0.22
    fy = cy + cues.pitch * fh * 0.06
    eye_dx = fw * 0.21 * subject.eye_spacing
    eye_y = fy - fh * 0.07
    eye_w = fw * 0.105 * subject.eye_size
    eye_h = fh * 0.04 * subject.eye_size

    # Soft shading, what a face detector keys on: dark eye sockets and brows above lighter cheeks, a lighter nose
    # bridge between the eyes, and a face that darkens towards its edges.
    shadow = Image.new("L", (s, s), 0)
    sdraw = ImageDraw.Draw(shadow)
    for ring in range(6):
        inset = ring * fw * 0.035
        sdraw.ellipse(
            (face[0] + inset, face[1] + inset * 1.2, face[2] - inset, face[3] - inset * 0.8), fill=110 - ring * 22
        )
    for side in (-1, 1):
        x = fx + side * eye_dx
        sdraw.ellipse((x - eye_w * 1.5, eye_y - eye_h * 2.6, x + eye_w * 1.5, eye_y + eye_h * 1.7), fill=190)
        sdraw.ellipse((fx + side * fw * 0.09 - fw * 0.04, fy, fx + side * fw * 0.09 + fw * 0.04, fy + fh * 0.16), 80)
    sdraw.ellipse((fx - fw * 0.2, fy + fh * 0.2, fx + fw * 0.2, fy + fh * 0.34), fill=70)  # around the mouth
    sdraw.ellipse((cx - fw / 2, cy + fh * 0.3, cx + fw / 2, cy + fh * 0.56), fill=90)  # under the chin
    shadow = _soft(shadow, s * 0.018)
    face_mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(face_mask).ellipse(face, fill=255)
    shadow = Image.fromarray((np.asarray(shadow, np.uint16) * np.asarray(face_mask, np.uint16) // 255).astype(np.uint8))
    layer.paste(Image.new("RGBA", (s, s), (*_shade(skin, 0.45), 255)), (0, 0), shadow)
    highlight = Image.new("L", (s, s), 0)
    hdraw = ImageDraw.Draw(highlight)
    for side in (-1, 1):
        x = fx + side * eye_dx * 1.05
        hdraw.ellipse((x - eye_w * 1.1, fy + fh * 0.02, x + eye_w * 1.1, fy + fh * 0.16), fill=110)  # cheeks
    hdraw.ellipse((fx - fw * 0.05, eye_y - eye_h * 2, fx + fw * 0.05, fy + fh * 0.08), fill=120)  # nose bridge
    hdraw.ellipse((fx - fw * 0.25, face[1] + fh * 0.1, fx + fw * 0.25, eye_y - eye_h * 3), fill=90)  # forehead
    highlight = _soft(highlight, s * 0.02)
    layer.paste(Image.new("RGBA", (s, s), (*_mix(skin, (255, 250, 245), 0.3), 255)), (0, 0), highlight)
    draw = ImageDraw.Draw(layer)

    for side, brow in ((-1, cues.brow_left), (1, cues.brow_right)):
        narrow = 1 - 0.35 * max(0.0, -cues.yaw * side)  # the far eye looks narrower
        x = fx + side * eye_dx
        _draw_eye(draw, x, eye_y, eye_w * narrow, eye_h, cues, subject.iris, skin)
        inner = x - side * eye_w * narrow * 1.1
        outer = x + side * eye_w * narrow * 1.2
        base = eye_y - eye_h * 2.1 - brow * eye_h * 1.4
        draw.line(
            [(inner, base + cues.brow_v * eye_h * 1.1), (x, base - eye_h * 0.25), (outer, base + eye_h * 0.2)],
            fill=_mix(subject.hair, (20, 15, 12), 0.65),  # brows darker than any skin
            width=max(3, int(fh * 0.04)),
            joint="curve",
        )
    # Nose: a bright bridge, a darker tip shadow and nostrils.
    nx = fx + cues.yaw * fw * 0.08
    draw.line([(nx, eye_y + eye_h), (nx + cues.yaw * fw * 0.04, fy + fh * 0.14)], fill=_shade(skin, 1.08), width=3)
    for side in (-1, 1):
        draw.ellipse(
            (nx + side * fw * 0.05 - 3, fy + fh * 0.14 - 2, nx + side * fw * 0.05 + 3, fy + fh * 0.14 + 3),
            _shade(skin, 0.45),
        )
    _draw_mouth(draw, fx, fy + fh * 0.27, fw, fh, cues, skin)

    if subject.hair_style != "bald":
        hair_mask = Image.new("L", (s, s), 0)
        hdraw = ImageDraw.Draw(hair_mask)
        hdraw.ellipse((face[0] - fw * 0.04, face[1] - fh * 0.06, face[2] + fw * 0.04, face[3]), fill=255)
        fringe = face[1] + fh * (0.17 + 0.05 * rng.random())
        hdraw.rectangle((0, fringe, s, s), fill=0)
        layer.paste(Image.new("RGBA", (s, s), (*subject.hair, 255)), (0, 0), hair_mask)
    draw = ImageDraw.Draw(layer)
    if cues.hand:
        _draw_hand(draw, cues.hand, cx, cy, fw, fh, skin, subject.shirt)

    layer = layer.reduce(SUPERSAMPLE)  # box-filter downsampling: the anti-aliasing
    layer = layer.resize((tile, tile), Image.Resampling.BILINEAR) if layer.size != (tile, tile) else layer
    if abs(cues.roll) >= 0.5:
        layer = layer.rotate(cues.roll, resample=Image.Resampling.BILINEAR, center=(tile / 2, tile * 0.47))
    box = tuple(round(v / SUPERSAMPLE) for v in (face[0], face[1], fw, fh))
    return layer, box  # type: ignore[return-value]


def _soft(mask: Image.Image, radius: float) -> Image.Image:
    """A Gaussian-blurred mask, blurred at a quarter of its size (16x less work) and scaled back."""
    small = mask.reduce(4).filter(ImageFilter.GaussianBlur(radius / 4))
    return small.resize(mask.size, Image.Resampling.BILINEAR)


def _draw_eye(draw: ImageDraw.ImageDraw, x: float, y: float, w: float, h: float, cues: Cues, iris, skin) -> None:
    lash = (30, 22, 20)
    if cues.eye_open < 0.18:
        draw.arc((x - w, y - h * 0.9, x + w, y + h * 0.9), 10, 170, fill=lash, width=max(2, int(h * 0.35)))
        return
    open_h = h * cues.eye_open
    # The white of the eye only a little lighter than the skin: at low resolution the eye region reads dark.
    sclera = _mix(_shade(skin, 0.8), (215, 210, 205), 0.45)
    draw.ellipse((x - w, y - open_h, x + w, y + open_h), fill=sclera, outline=lash, width=max(1, int(h * 0.2)))
    r = min(open_h, w * 0.55) * 0.95
    ix, iy = x + cues.gaze_x * w * 0.45, y + cues.gaze_y * open_h * 0.35
    draw.ellipse((ix - r, iy - r, ix + r, iy + r), fill=iris)
    draw.ellipse((ix - r * 0.45, iy - r * 0.45, ix + r * 0.45, iy + r * 0.45), fill=(15, 12, 12))
    # A heavy upper lid over half-open eyes.
    if cues.eye_open < 0.7:
        draw.chord((x - w * 1.05, y - open_h * 1.3, x + w * 1.05, y + open_h * 0.2), 180, 360, fill=_shade(skin, 0.9))
        draw.line([(x - w, y - open_h * 0.55), (x + w, y - open_h * 0.55)], fill=lash, width=max(1, int(h * 0.25)))


def _draw_mouth(draw: ImageDraw.ImageDraw, x: float, y: float, fw: float, fh: float, cues: Cues, skin) -> None:
    lips = _mix(skin, (150, 50, 60), 0.45)
    half = fw * 0.17 * (1 - 0.3 * cues.mouth_open)
    if cues.mouth_open > 0.3:
        open_h = fh * 0.08 * cues.mouth_open
        draw.ellipse((x - half, y - open_h, x + half, y + open_h * 1.3), fill=(60, 20, 25), outline=lips, width=3)
        return
    lift = -cues.mouth_curve * fh * 0.035
    skew = cues.mouth_skew * fh * 0.02
    left, right = (x - half, y - lift + skew), (x + half, y - lift - skew)
    width = max(2, int(fh * 0.025 + cues.mouth_open * fh * 0.06))
    draw.line([left, (x, y + lift * 0.8), right], fill=lips, width=width, joint="curve")


def _draw_hand(draw: ImageDraw.ImageDraw, where: str, cx: float, cy: float, fw: float, fh: float, skin, sleeve) -> None:
    side = 1 if (int(cx) + int(fw)) % 2 else -1
    hand_w, hand_h = fw * 0.34, fh * 0.24
    if where == "chin":
        hx, hy = cx + side * fw * 0.12, cy + fh * 0.52
    elif where == "cheek":
        hx, hy = cx + side * fw * 0.45, cy + fh * 0.32
    else:  # forehead
        hx, hy = cx + side * fw * 0.2, cy - fh * 0.38
    arm_y = hy + hand_h * 0.4
    wrist = [(hx - hand_w * 0.35, arm_y), (hx + hand_w * 0.35, arm_y)]
    if where == "forehead":  # the forearm leaves sideways, off the face
        elbow = [(cx + side * fw * 1.4, cy + fh * 0.5), (cx + side * fw * 1.4, cy + fh * 0.2)]
    else:
        elbow = [(hx + side * fw * 0.5, cy + fh * 1.6), (hx + side * fw * 0.1, cy + fh * 1.6)]
    draw.polygon([*wrist, *elbow], fill=sleeve)
    draw.rounded_rectangle(
        (hx - hand_w / 2, hy - hand_h / 2, hx + hand_w / 2, hy + hand_h / 2),
        radius=hand_w * 0.3,
        fill=_shade(skin, 0.95),
    )
    for k in range(1, 4):
        fy = hy - hand_h / 2 + k * hand_h / 4
        draw.line([(hx - hand_w * 0.4, fy), (hx + hand_w * 0.3, fy)], fill=_shade(skin, 0.7), width=2)


def _background(rng: np.random.Generator, scene: _Scene, size: int) -> Image.Image:
    a, b = (np.array(c, np.float64) for c in scene.colours)
    if scene.background == "plain":
        pixels = np.broadcast_to(a, (size, size, 3)).copy()
    elif scene.background == "gradient":
        t = np.linspace(0, 1, size)[:, None, None]
        pixels = np.broadcast_to(a * (1 - t) + b * t, (size, size, 3)).copy()
    elif scene.background == "stripes":
        period = int(rng.integers(size // 10, size // 4))
        stripe = (np.arange(size) // period) % 2
        pixels = np.where(stripe[None, :, None] == 1, a, b) * np.ones((size, 1, 1))
    else:  # shelves: books of random colours on horizontal boards
        pixels = np.broadcast_to(a, (size, size, 3)).copy()
        for row in range(0, size, size // 4):
            x = 0
            while x < size:
                w = int(rng.integers(3, 10))
                pixels[row + 4 : row + size // 4 - 2, x : x + w] = _muted(rng)
                x += w + 1
            pixels[row : row + 4] = b
    return Image.fromarray(_clip(pixels)).convert("RGBA")


def _classroom_backdrop(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    wall = _rgb(rng.uniform(150, 220, 3))
    canvas = Image.new("RGBA", (width, height), (*wall, 255))
    draw = ImageDraw.Draw(canvas)
    board = (int(width * 0.2), int(height * 0.04), int(width * 0.8), int(height * 0.22))
    draw.rectangle(board, fill=(40, 70, 50), outline=(120, 90, 60), width=8)
    for x in range(0, width, int(width * 0.12)):  # windows along the back wall
        draw.rectangle((x + 10, int(height * 0.3), x + int(width * 0.08), int(height * 0.45)), fill=(200, 215, 230))
    return canvas


def _grid_cells(rng: np.random.Generator, n: int, width: int, height: int, cell: float) -> list[tuple[float, float]]:
    """Centres of `n` cells on a jittered grid, so heads never overlap."""
    columns = max(1, int(width // cell))
    rows = max(1, int((height - cell * 0.2) // cell))
    if columns * rows < n:
        raise ValueError(f"{n} faces of this size do not fit in {width}x{height}; use a smaller face_size")
    chosen = rng.choice(columns * rows, size=n, replace=False)
    slack_x, slack_y = (width - columns * cell) / columns, (height - rows * cell) / rows
    centres = []
    for index in chosen:
        r, c = divmod(int(index), columns)
        x = c * (cell + slack_x) + cell / 2 + slack_x / 2 + rng.uniform(-0.4, 0.4) * slack_x
        y = r * (cell + slack_y) + cell / 2 + slack_y / 2 + rng.uniform(-0.4, 0.4) * slack_y
        centres.append((x, y))
    return centres


def _frontal(cues: Cues) -> Cues:
    return Cues(
        **{**cues.__dict__, "yaw": float(np.clip(cues.yaw, -0.15, 0.15)), "roll": float(np.clip(cues.roll, -8, 8))}
    )


def _light(image: np.ndarray, angle: float, strength: float) -> np.ndarray:
    """Directional lighting: a linear brightness ramp across the image."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = ((xx / w - 0.5) * np.cos(angle) + (yy / h - 0.5) * np.sin(angle)) * 2
    return image * (1 + strength * ramp)[..., None]


def _add_noise(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    return _clip(np.asarray(image, np.float64) + rng.normal(0, sigma, image.shape))


def _muted(rng: np.random.Generator) -> tuple[int, int, int]:
    """A random colour halfway to grey: walls and furniture rather than posters."""
    return _mix(rng.uniform(30, 230, 3), (128, 128, 128), float(rng.uniform(0.3, 0.7)))


def _maybe(rng: np.random.Generator, probability: float, value: str) -> str:
    return value if rng.random() < probability else ""


def _named(file_name: str, image_format: str) -> str:
    return file_name.rsplit(".", 1)[0] + {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[image_format]


def _clip(pixels: np.ndarray) -> np.ndarray:
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _rgb(values) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, int(v))) for v in values)
    return r, g, b


def _shade(colour, factor: float) -> tuple[int, int, int]:
    return _rgb(np.array(colour, np.float64) * factor)


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return _rgb(np.array(a, np.float64) * (1 - t) + np.array(b, np.float64) * t)
