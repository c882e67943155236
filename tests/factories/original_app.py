"""An independent re-statement of the original ResNeXt-LSTM app's forward pass.

Written from that project's app code (``views.py``), not from this project's engine, so that
the tests and ``benchmarks/bench_detector.py`` compare ``reference`` mode against it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import torch
from torch import nn


class OriginalModel(nn.Module):
    """The public project's Model class, re-stated from its app (views.py) for comparison."""

    def __init__(self) -> None:
        super().__init__()
        import torchvision

        model = torchvision.models.resnext50_32x4d(weights=None)
        self.model = nn.Sequential(*list(model.children())[:-2])
        self.lstm = nn.LSTM(2048, 2048, 1, False)  # 4th positional argument is `bias`
        self.dp = nn.Dropout(0.4)
        self.linear1 = nn.Linear(2048, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch_size, seq_length, c, h, w = x.shape
        x = x.view(batch_size * seq_length, c, h, w)
        fmap = self.model(x)
        x = self.avgpool(fmap)
        x = x.view(batch_size, seq_length, 2048)
        x_lstm, _ = self.lstm(x, None)
        return fmap, self.dp(self.linear1(x_lstm[:, -1, :]))


def original_p_fake(video: Path, sequence_length: int, checkpoint: Path) -> float:
    """What the original app computes: first N frames, first face on BGR, last-frame logits."""
    import face_recognition
    from torchvision import transforms

    transform = transforms.Compose(
        [
            transforms.ToPILImage(),
            transforms.Resize((112, 112)),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )
    frames = []
    cap = cv2.VideoCapture(str(video))
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        faces = face_recognition.face_locations(frame)
        if faces:
            top, right, bottom, left = faces[0]
            frame = frame[top:bottom, left:right, :]
        frames.append(transform(frame))
        if len(frames) == sequence_length:
            break
    x = torch.stack(frames)[:sequence_length].unsqueeze(0)
    model = OriginalModel()
    model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    model.eval()
    with torch.no_grad():
        _, logits = model(x)
    return float(nn.Softmax(dim=1)(logits)[0, 0])  # index 0 = FAKE
