"""Code that runs on Lambda for the stacks themselves (custom resources), not for the product."""
