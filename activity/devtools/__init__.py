"""Tools apart from the product: demo, benchmark, fake Rokt, a Journey Builder player."""
