"""Segmentation: UCTransNet training, prediction and evaluation."""
