"""Synthetic single-lead ECG heartbeats in five classes, generated from a seed.

Each beat is a 1-second window (128 samples at 128 Hz) with the R peak near
0.4 s, built as a sum of Gaussian waves (P, Q, R, S, T; as in McSharry et al.,
"A dynamical model for generating synthetic electrocardiogram signals", IEEE
TBME 2003) whose amplitudes, widths and positions vary from beat to beat, plus
baseline wander, mains interference and white noise. The classes imitate the
morphology of common beat types (loosely after the AAMI classes); they are a
benchmark for 1-D convolutional networks, not a physiological model:

    0 normal                 P wave, narrow QRS, upright T
    1 ventricular premature  no P wave, wide tall QRS, deep S, inverted T
    2 atrial premature       early beat: the previous beat's T wave still in
                             the window, small or inverted P close to the QRS
    3 bundle branch block    P wave, wide notched QRS (two R peaks), inverted T
    4 atrial fibrillation    no P wave, fibrillatory 4-9 Hz baseline waves

The parameter ranges overlap and the noise is strong enough that the classes
are not perfectly separable.
"""

import numpy as np

CLASSES = ["normal", "ventricular premature", "atrial premature",
           "bundle branch block", "atrial fibrillation"]
FS = 128        # samples per second
LENGTH = 128    # samples per beat window
R_TIME = 0.4    # nominal R peak position in seconds


def _wave(t, amp, center, width):
    return amp * np.exp(-0.5 * ((t - center) / width) ** 2)


def beat(cls, rng):
    """One beat of class cls as a float64 array of LENGTH samples."""
    u = rng.uniform
    r = R_TIME + u(-0.04, 0.04)                 # R peak position
    t = np.arange(LENGTH) / FS
    hr = u(0.85, 1.15)                          # heart-rate scaling of P and T offsets
    x = np.zeros(LENGTH)
    if cls in (0, 2, 3):                        # a P wave
        if cls == 2:
            p_amp, p_off = u(-0.15, 0.08), u(0.09, 0.15)
        else:
            p_amp, p_off = u(0.06, 0.25), u(0.15, 0.22)
        x += _wave(t, p_amp, r - p_off * hr, u(0.018, 0.03))
    if cls == 1:                                # wide ventricular complex
        x += _wave(t, u(0.9, 1.5), r, u(0.022, 0.035))
        x += _wave(t, -u(0.3, 0.7), r + u(0.05, 0.07), u(0.02, 0.035))
        x += _wave(t, -u(0.25, 0.6), r + u(0.26, 0.34) * hr, u(0.05, 0.07))
    elif cls == 3:                              # notched wide QRS
        sep = u(0.025, 0.045)
        x += _wave(t, u(0.5, 0.9), r - sep / 2, u(0.01, 0.017))
        x += _wave(t, u(0.6, 1.0), r + sep / 2, u(0.01, 0.017))
        x += _wave(t, -u(0.05, 0.2), r + sep / 2 + 0.03, u(0.008, 0.015))
        x += _wave(t, -u(0.1, 0.35), r + u(0.26, 0.34) * hr, u(0.04, 0.06))
    else:                                       # normal QRS and T
        x += _wave(t, -u(0.05, 0.2), r - 0.03, u(0.006, 0.01))
        x += _wave(t, u(0.8, 1.2), r, u(0.008, 0.013))
        x += _wave(t, -u(0.1, 0.35), r + 0.03, u(0.007, 0.012))
        x += _wave(t, u(0.15, 0.4), r + u(0.24, 0.32) * hr, u(0.035, 0.06))
    if cls == 2:                                # previous beat's T, close before
        x += _wave(t, u(0.12, 0.35), r - u(0.26, 0.36), u(0.035, 0.06))
    if cls == 4:                                # fibrillatory waves
        for _ in range(3):
            x += u(0.01, 0.05) * np.sin(2 * np.pi * u(4, 9) * t + u(0, 2 * np.pi))
    x *= u(0.7, 1.3)                            # lead gain
    x += u(0, 0.25) * np.sin(2 * np.pi * u(0.1, 0.5) * t + u(0, 2 * np.pi))
    x += u(0, 0.04) * np.sin(2 * np.pi * 50 * t + u(0, 2 * np.pi))
    x += rng.normal(0, u(0.01, 0.06), LENGTH)
    return x


def generate(per_class, seed):
    """per_class beats of every class, shuffled: (x float32 [N,1,LENGTH], y int64 [N])."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(CLASSES)), per_class)
    rng.shuffle(y)
    x = np.stack([beat(int(c), rng) for c in y])
    return x.astype(np.float32)[:, None, :], y.astype(np.int64)
