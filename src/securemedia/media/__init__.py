"""Discs: splitting an archive into volumes, disc images, recovery data, planning.

Submodules are imported directly (``securemedia.media.volumes`` ...); this
package imports nothing so that each stays cheap to load.
"""
