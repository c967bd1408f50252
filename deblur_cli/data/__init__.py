"""Data: procedural pairs (``synth``), dataset layouts on disk, torch datasets, and the GoPro-layout writer."""
