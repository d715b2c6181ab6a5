"""Compiled loops (numba) for the two computations that touch every importer x stratum pair once.

At 10 M entries an exam-rate stratum (month x port x mode x origin x HTS section) holds about one
entry per importer, so the jackknife of the Mantel-Haenszel ratio works on about as many pairs as
there are entries. numpy needs some twenty passes over them (each gather and each arithmetic step
a pass of its own, 1 s a benefit); one compiled loop does the same arithmetic in one pass. The
loops add in row order, so the same rows give the same floats on every run. Compiled once and
cached beside this file (numba's `cache=True`); they touch no Python object, so they release the GIL
(`nogil=True`) and another thread of the scorecard counts the next month meanwhile.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def stratum_sums(k, a, n1, c, n0, size):  # pragma: no cover (compiled)
    """Per stratum k: the sums of a, n1, c and n0 (as floats, for the ratio's arithmetic)."""
    out = np.zeros((4, size))
    for r in range(len(k)):
        s = k[r]
        out[0, s] += a[r]
        out[1, s] += n1[r]
        out[2, s] += c[r]
        out[3, s] += n0[r]
    return out


@numba.njit(cache=True, nogil=True)
def mantel_haenszel_terms(k, importer, a, n1, c, n0, a_k, n1_k, c_k, n0_k, n_importers, group_of_stratum,
                          n_groups, du_pooled, dv_pooled):  # pragma: no cover (compiled)
    """For every row (one importer in one stratum k): its stratum's Mantel-Haenszel terms without
    it, summed per (group, importer) and added per importer into du_pooled and dv_pooled (the pooled
    group; passed in, so that calls one month at a time add up exactly as one call over the months):

        du = a_k n0_k / N_k - (a_k - a)(n0_k - n0) / (N_k - n),   likewise dv with c and n1,

    only in strata with both sides (others add nothing). Returns du and dv per group x importer,
    and the importer's certified and uncertified entries in informative strata (whether it informs
    each side)."""
    per_group = n_groups * n_importers
    du = np.zeros(per_group)
    dv = np.zeros(per_group)
    on1 = np.zeros(per_group)
    on0 = np.zeros(per_group)
    for r in range(len(k)):
        s = k[r]
        if n1_k[s] <= 0 or n0_k[s] <= 0:
            continue
        total = n1_k[s] + n0_k[s]
        rest = total - n1[r] - n0[r]
        u = a_k[s] * n0_k[s] / total
        v = c_k[s] * n1_k[s] / total
        if rest > 0:
            u -= (a_k[s] - a[r]) * (n0_k[s] - n0[r]) / rest
            v -= (c_k[s] - c[r]) * (n1_k[s] - n1[r]) / rest
        i = group_of_stratum[s] * n_importers + importer[r]
        du[i] += u
        dv[i] += v
        on1[i] += n1[r]
        on0[i] += n0[r]
        du_pooled[importer[r]] += u
        dv_pooled[importer[r]] += v
    return du, dv, on1, on0


@numba.njit(cache=True, nogil=True)
def count_runs(keys, flag_of_bits):  # pragma: no cover (compiled)
    """Sorted keys whose 5 low bits describe an entry (side and outcome): the distinct keys without
    those bits (pairs), and per pair how many entries carry each flag (flag_of_bits[bits, f] = 1
    when an entry with those bits counts for flag f), one row per pair."""
    n_flags = flag_of_bits.shape[1]
    n_pairs = 0
    previous = -1
    for r in range(len(keys)):
        pair = keys[r] >> 5
        if pair != previous:
            n_pairs += 1
            previous = pair
    pairs = np.empty(n_pairs, dtype=np.int64)
    counts = np.zeros((n_pairs, n_flags), dtype=np.int32)
    p = -1
    previous = -1
    for r in range(len(keys)):
        pair = keys[r] >> 5
        if pair != previous:
            p += 1
            pairs[p] = pair
            previous = pair
        bits = keys[r] & 31
        for f in range(n_flags):
            counts[p, f] += flag_of_bits[bits, f]
    return pairs, counts


@numba.njit(cache=True, nogil=True)
def sum_by(index, values, n_out):  # pragma: no cover (compiled)
    """Row sums of `values` (rows x columns) per output row `index[r]`, in row order (a
    multi-column np.bincount that keeps the integer type)."""
    out = np.zeros((n_out, values.shape[1]), dtype=np.int64)
    for r in range(len(index)):
        for f in range(values.shape[1]):
            out[index[r], f] += values[r, f]
    return out
