"""Training: shared SFT pieces (collation, masking, schedule), the one RAFT loop, selection, artifacts."""
