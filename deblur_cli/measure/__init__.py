"""What the applications measure with, shared so that eval, bench and train import none of each other:
``timing`` (wall clock, CPU time, peak memory), ``flops`` (FLOPs and parameters of a network) and
``metrics`` (PSNR/SSIM as GoPro evaluations compute them). Core layer: imports nothing above it."""
