"""Training of the contrastive drawing encoder (Lo et al. 2024): data, enrichment, losses, loop.

    config      TOML training configs (training/configs/*.toml)
    prepare     sources (manifests, Red Book, folders, DeepPatent2, synthetic) -> figure crops
    shards      the crops on disk; dataset: crops + labels + descriptions as training data
    views       "FIG. n" descriptions matched to figures (the numbering heuristic)
    enrich/     template / title / LLM / captioner descriptions, cached in the library SQLite
    augment     line-drawing augmentations on uint8 tensors (white fill)
    losses      L_clip, L_cls / L_cat (supervised contrastive), uncertainty weighting
    sampler     plain and class-balanced batches; folds: patent-level CV folds
    encoder     which layers train; features: frozen-prefix feature bank; whitening: init
    textcache   frozen text-tower embeddings, computed once
    trainer     the loop (AMP, accumulation, schedule, exact resume, DDP); export: checkpoint
    evaluate    cross-validated retrieval evaluation; cli: `patent-examiner train / enrich`
"""
