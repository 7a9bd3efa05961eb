"""Benchmarks (`make bench`): each module writes its numbers under bench/results/."""
