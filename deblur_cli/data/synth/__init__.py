"""Procedural (blurred, sharp) pairs: scenes, motion, rendering in linear light, degradations."""

from .generator import MOTIONS, SynthConfig, blur_photo, make_pair

__all__ = ["MOTIONS", "SynthConfig", "blur_photo", "make_pair"]
