"""Pure data: API shapes, stored records and stream events. No I/O."""
