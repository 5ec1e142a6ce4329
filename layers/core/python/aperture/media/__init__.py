"""Media: decoding untrusted uploads, rendering every size and format, moderation, and the pipeline."""
