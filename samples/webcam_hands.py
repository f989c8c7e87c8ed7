"""Live hand tracking from a webcam: draws the 21 landmarks, track ids and gestures.

    python samples/webcam_hands.py                 # camera 0, mirrored selfie view
    python samples/webcam_hands.py --camera 1 --max-frames 300 --no-window

Without depth the joints are monocular (average hand size). Press q to quit. Exits with status 2
and a one-line message when the camera cannot be opened.
"""

import argparse
import sys
import time

import cv2
import numpy as np

from sensors.types import RGBDFrame
from spatial.hands import HandLandmarkerOptions, HandTracker
from spatial.hands.joints import BONES
from spatial.hands.lift import default_intrinsics

parser = argparse.ArgumentParser(description="Track hands live from a webcam.")
parser.add_argument("--camera", type=int, default=0, help="OpenCV camera index")
parser.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
parser.add_argument("--no-window", action="store_true", help="print results instead of showing a window")
args = parser.parse_args()

cap = cv2.VideoCapture(args.camera)
ok, bgr = cap.read() if cap.isOpened() else (False, None)
if not ok:
    cap.release()
    print(f"error: no camera at index {args.camera} (OpenCV could not open it or read a frame)", file=sys.stderr)
    sys.exit(2)

K = default_intrinsics(bgr.shape[1], bgr.shape[0])
t0 = time.monotonic_ns()
n = 0
with HandTracker(HandLandmarkerOptions(running_mode="video", mirrored=True)) as tracker:
    while ok and (args.max_frames is None or n < args.max_frames):
        bgr = cv2.flip(bgr, 1)  # selfie view
        frame = RGBDFrame(time.monotonic_ns() - t0, np.ascontiguousarray(bgr[:, :, ::-1]), None, K, index=n)
        result = tracker.process(frame, intrinsics_known=False)
        for hand in result:
            active = [g for g in ("pinch", "point", "fist", "open_palm") if hand.gestures.get(g)]
            if args.no_window:
                print(f"frame {n} hand {hand.track_id} {hand.handedness} {' '.join(active)}")
            for p, c in BONES:
                cv2.line(bgr, tuple(map(int, hand.landmarks_px[p])), tuple(map(int, hand.landmarks_px[c])), (0, 255, 0), 2)
            x, y = map(int, hand.landmarks_px[0])
            cv2.putText(bgr, f"{hand.track_id} {hand.handedness} {' '.join(active)}", (x, y + 20), 0, 0.6, (0, 0, 255), 2)
        if not args.no_window:
            cv2.imshow("spatial hands (q quits)", bgr)
            if cv2.waitKey(1) & 0xFF == ord("q"):
                break
        n += 1
        ok, bgr = cap.read()
cap.release()
cv2.destroyAllWindows()
