"""Writes the .npy files core/dataset's tests read, with NumPy itself, so that the
tests check the reader against the real format. Run with a Python that has NumPy
(Debian: python3-numpy): python3 make_testdata.py
"""

import numpy as np

# Two records of three values: what the tests' 3-value model takes.
values = np.array([[0, 1, 2], [3, 4, 5]])

for dtype in ["<f8", ">f4", "<f2", "<i1", "<i2", ">i4", "<i8", "|u1", "<u2", ">u4", "<u8", "|b1"]:
    arr = values.astype(dtype) if dtype != "|b1" else (values % 2).astype(dtype)
    np.save(f"vec_{dtype[1:]}{'_be' if dtype[0] == '>' else ''}.npy", arr)

np.save("vec_fortran.npy", np.asfortranarray(values.astype("<f8")))
with open("vec_v2.npy", "wb") as f:
    np.lib.format.write_array(f, values.astype("<f8"), version=(2, 0))
# Images of one channel, 2 high and 3 wide, stored (n, 2, 3) and (n, 1, 2, 3).
np.save("img_hw.npy", np.arange(12, dtype="<f4").reshape(2, 2, 3) / 11)
np.save("img_chw.npy", (np.arange(12, dtype="<f8").reshape(2, 1, 2, 3) / 11))
# Not numbers the package reads.
np.save("complex.npy", values.astype("<c16"))
np.save("strings.npy", np.array(["a", "bc"]))
# Labels.
np.save("labels_i8.npy", np.array([3, 1, 4], dtype="<i8"))
np.save("labels_f4.npy", np.array([[3.0], [1.0], [4.0]], dtype="<f4"))
np.save("labels_frac.npy", np.array([3.0, 1.5], dtype="<f8"))
