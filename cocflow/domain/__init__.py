"""The pure domain core: no I/O, plain values in and out."""
