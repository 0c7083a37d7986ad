"""Starting the shop's stages as local processes: one launcher for every stage."""
