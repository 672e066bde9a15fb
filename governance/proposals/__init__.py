"""XIPs: proposals, their review, Last Call, votes and what a Final XIP enacts."""
