"""Photos of the problem and of the work: uploaded, re-encoded, linked to tickets."""
