import cv2
import numpy as np

from sensors import CameraIntrinsics, RGBDFrame
from spatial.viz.contact_sheet import colorize_depth, contact_sheet, save_png

K = CameraIntrinsics(100.0, 100.0, 32.0, 24.0, 64, 48)


def frame(i, depth=True):
    color = np.full((48, 64, 3), 40 * i, np.uint8)
    d = np.tile(np.linspace(0.5, 3.0, 64, dtype=np.float32), (48, 1)) if depth else None
    if d is not None:
        d[:5] = 0
    return RGBDFrame(i, color, d, K, index=i)


def test_colorize_depth_marks_invalid_black_and_orders_by_distance():
    rgb = colorize_depth(frame(1).depth_m)
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8
    assert not rgb[:5].any()
    assert rgb[20, 0, 2] > rgb[20, 0, 0]  # near end is blue
    assert rgb[20, -1, 0] > rgb[20, -1, 2]  # far end is red


def test_contact_sheet_layout_and_png(tmp_path):
    sheet = contact_sheet([frame(i) for i in range(5)], tile_width=32, columns=4)
    assert sheet.shape == (2 * 48, 4 * 32, 3)  # 2 rows of (colour 24 + depth 24), 4 columns
    assert (sheet[:24, :32] == 0).all() and (sheet[:24, 32:64] == 40).all()
    assert not sheet[48:, 32:].any()  # padding tiles are black
    out = save_png(sheet, tmp_path / "sheet.png")
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB), sheet)
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]  # no temp file left
    colour_only = contact_sheet([frame(0, depth=False)], tile_width=32, columns=1)
    assert colour_only.shape == (24, 32, 3)
