"""ssl_lib: the companion library of "How Self-Supervised Learning Learns Features".

Every chapter of the book imports what it needs from here: the losses, the data, the models,
the training loops and the registered experiments whose claims the chapters check.
"""

from ssl_lib.costs import describe_setup
from ssl_lib.runtime import default_device, describe_device, seed_everything
from ssl_lib.scale import SCALES, by_scale, current_scale

__version__ = "0.1.0"

__all__ = ["SCALES", "by_scale", "current_scale", "default_device", "describe_device", "describe_setup",
           "seed_everything"]
