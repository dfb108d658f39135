"""Neural networks of the engine, one module per family (plain nn.Modules, no training code)."""
