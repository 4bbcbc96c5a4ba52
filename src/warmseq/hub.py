"""Turn a model name or path into local files: a folder first, then the Hub cache, then a download."""

from __future__ import annotations

import os
from pathlib import Path


def looks_like_path(name: str) -> bool:
    """A Hub id is `name` or `owner/name`; anything else a user types is meant as a path."""
    return name.startswith((".", "/", "~")) or name.endswith("/") or name.count("/") > 1 or "\\" in name


def resolve_file(name_or_path: str | os.PathLike, filename: str, *, optional: bool = False) -> Path | None:
    """Local path of `filename` for a model folder or Hub id; None if `optional` and it does not exist."""
    name = os.fspath(name_or_path)
    folder = Path(name).expanduser()
    if folder.is_dir():
        candidate = folder / filename
        if candidate.is_file():
            return candidate
        if optional:
            return None
        found = sorted(p.name for p in folder.iterdir())[:12]
        raise FileNotFoundError(f"{folder} has no {filename} (found: {', '.join(found) or 'nothing'})")
    if folder.is_file():
        raise NotADirectoryError(f"{folder} is a file; expected a model folder holding {filename}")
    if looks_like_path(name):
        raise FileNotFoundError(f"model folder {folder} does not exist")
    return download_from_hub(name, filename, optional=optional)


def resolve_folder(name_or_path: str | os.PathLike, filenames: tuple[str, ...]) -> Path:
    """A local folder holding the files among `filenames` that a model folder or Hub id has: the folder
    itself, or the Hub cache's snapshot folder once those files are fetched (each file is optional).

    A path that does not exist is returned as it is, for the caller to say what it expected there."""
    name = os.fspath(name_or_path)
    folder = Path(name).expanduser()
    if folder.exists() or looks_like_path(name):
        return folder
    first_error: FileNotFoundError | None = None
    for filename in filenames:
        try:
            path = resolve_file(name, filename, optional=True)
        except FileNotFoundError as error:  # offline and not cached: the others may still be
            first_error = first_error or error
            continue
        if path is not None:
            return path.parent  # the snapshot folder, where every fetched file of the model lies
    raise first_error or FileNotFoundError(f"Hub model {name!r} has none of {', '.join(filenames)}")


def download_from_hub(repo_id: str, filename: str, *, optional: bool) -> Path | None:
    import huggingface_hub
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(huggingface_hub.hf_hub_download(repo_id, filename))
    except LocalEntryNotFoundError:
        if optional and huggingface_hub.try_to_load_from_cache(repo_id, "config.json"):
            return None
        raise FileNotFoundError(
            f"{repo_id!r} is not a local folder and {filename} is not in the Hub cache "
            "(offline or unreachable); pass a local folder or download it once while online"
        ) from None
    except EntryNotFoundError:
        if optional:
            return None
        raise FileNotFoundError(f"Hub model {repo_id!r} has no file {filename}") from None
    except RepositoryNotFoundError:
        raise FileNotFoundError(f"{repo_id!r} is neither a local folder nor a model on the Hub") from None
