"""Model loading shared by every family: `base.PreTrainedModel`, weight files, outputs, Auto classes."""
