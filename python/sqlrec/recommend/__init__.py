"""Personalised recommendations: the interaction matrix (`matrix`), implicit's ALS behind one
CPU/GPU front (`als`), its parameters (`params`) and the `sqlrec train` step (`train`)."""
