"""unrolled: a white-box neural-network framework in NumPy, built around recurrent networks and
exact backpropagation through time."""
__version__ = "0.1.0"
