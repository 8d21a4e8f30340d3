"""Our model families, one file each (config, modules, heads); imported only when a model is built."""
