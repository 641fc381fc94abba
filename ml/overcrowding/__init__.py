"""Overcrowding risk: sessions forecast to exceed their room's safe capacity."""
