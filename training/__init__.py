"""Training of the contrastive drawing encoder (Lo et al. 2024): data, enrichment, losses, loop."""
