"""External customer cases that internal requests serve."""
