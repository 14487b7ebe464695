"""The figure finder's behaviour version, apart from ``core.drawing`` so that reading a
library's counts (``index info``) does not load the image stack.

Raise it whenever ``core.drawing.find_figures`` cuts real pages differently: a library records
the version that cut each ingestion run, tells of pages an older one cut, and ``index rebuild``
cuts them again. History: 2 — a front page's continuation (its cited references) yields no
figure. (Library pages that are negatives, cut as their positives, and pages dark all over,
left without a figure, as queries were, did not raise it: no patent office sheet is either;
a library that holds such scans is fixed by `index rebuild`.)
"""
FINDER_VERSION = 2
