"""Training on a shop's catalogue, in pure torch (no Django): data preparation, the GAN and
the 4x enhancement GAN, checkpoints that resume exactly, evaluation.

The Django side (imagegen/training/) reads the images through storage and hands bytes here.
"""
