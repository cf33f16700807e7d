"""Scores: BLEU/chrF for translation, BLEU-4/CIDEr-D for captions, accuracy/F1 for classifiers and taggers."""
