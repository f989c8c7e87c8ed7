"""Exports of a scene's map and trajectory to the files other tools read.

* ``.ply`` — binary PLY in the SDK world (z up, metres): the mesh with vertex colours and
  normals, or the point cloud (with normals) when there is no mesh.
* ``.obj`` — the mesh with vertex colours (trimesh's ``v x y z r g b`` extension), z up.
* ``.glb`` — binary glTF. glTF is y-up by specification, so the geometry is rotated from the SDK
  world into the y-up ARKit frame (:mod:`sensors.frames`); metres either way.
* ``.usdz`` — USD package for AR viewers: ``metersPerUnit = 1``, ``upAxis = Z`` declared (no
  rotation needed), the mesh (or points) with a per-vertex ``displayColor``.
* TUM trajectory — ``timestamp tx ty tz qx qy qz qw`` lines, seconds and metres.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from sensors.errors import ConfigError, EmptySessionError, require
from sensors.formats._atomic import atomic_path
from sensors.frames import C_ARKIT_SDK

from .geometry import Mesh, PointCloud

EXPORT_SUFFIXES = (".ply", ".obj", ".glb", ".usdz")


def export_geometry(mesh: Mesh | None, cloud: PointCloud | None, path: str | Path) -> Path:
    """Write ``mesh`` (else ``cloud``) to ``path`` in the format its suffix names (atomically)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ConfigError(f"cannot export to '{suffix}': use one of {', '.join(EXPORT_SUFFIXES)}", path)
    has_mesh = mesh is not None and not mesh.is_empty
    if not has_mesh and (cloud is None or cloud.is_empty):
        raise EmptySessionError("the scene has no mesh or point cloud to export", path)
    if suffix == ".usdz":
        return _write_usdz(mesh if has_mesh else None, cloud, path)
    if suffix == ".ply":
        return mesh.save_ply(path) if has_mesh else cloud.save_ply(path)
    if suffix == ".glb":
        geometry = (mesh if has_mesh else cloud).transformed(C_ARKIT_SDK)
    else:
        if not has_mesh:
            raise ConfigError("OBJ export needs a mesh; the scene only has a point cloud (export .ply instead)", path)
        geometry = mesh
    data = geometry.to_trimesh().export(file_type=suffix[1:])
    with atomic_path(path) as tmp:
        tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _write_usdz(mesh: Mesh | None, cloud: PointCloud | None, path: Path) -> Path:
    require("pxr", "usd", "USDZ export")
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdUtils, Vt

    with tempfile.TemporaryDirectory(prefix="spatial-usdz-") as work:
        usdc = Path(work) / "scene.usdc"
        stage = Usd.Stage.CreateNew(str(usdc))
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
        UsdGeom.SetStageMetersPerUnit(stage, 1.0)
        root = UsdGeom.Xform.Define(stage, "/Scene")
        stage.SetDefaultPrim(root.GetPrim())
        if mesh is not None:
            geom = UsdGeom.Mesh.Define(stage, "/Scene/Mesh")
            geom.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(mesh.vertices))
            geom.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(mesh.triangles), 3, np.int32)))
            geom.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(mesh.triangles.reshape(-1)))
            geom.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
            if mesh.vertex_normals is not None:
                geom.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(mesh.vertex_normals))
                geom.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
            colors, points = mesh.vertex_colors, mesh.vertices
        else:
            geom = UsdGeom.Points.Define(stage, "/Scene/Points")
            geom.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(cloud.points))
            geom.CreateWidthsAttr(Vt.FloatArray([0.01]))
            geom.SetWidthsInterpolation(UsdGeom.Tokens.constant)
            if cloud.normals is not None:
                geom.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(cloud.normals))
            colors, points = cloud.colors, cloud.points
        lo, hi = points.min(0), points.max(0)
        geom.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
        if colors is not None:
            pv = UsdGeom.PrimvarsAPI(geom).CreatePrimvar("displayColor", Sdf.ValueTypeNames.Color3fArray, UsdGeom.Tokens.vertex)
            pv.Set(Vt.Vec3fArray.FromNumpy(colors.astype(np.float32) / 255.0))
        stage.GetRootLayer().Save()
        del stage
        with atomic_path(path) as tmp:
            out = Path(work) / path.name  # the packager wants a .usdz name
            if not UsdUtils.CreateNewUsdzPackage(Sdf.AssetPath(str(usdc)), str(out)):
                raise OSError(f"usd-core could not package {path}")
            out.replace(tmp)
    return path
