"""fer_lib: datasets, models, losses, training and measurement code for reproducing FER papers.

Sub-packages: :mod:`fer_lib.data`, :mod:`fer_lib.models`, :mod:`fer_lib.papers`; modules
:mod:`fer_lib.engine`, :mod:`fer_lib.metrics`, :mod:`fer_lib.complexity`, :mod:`fer_lib.results`.
"""

__version__ = "0.1.0"
