"""Batch planning: which files are inputs, where each result goes, and that no input or result is overwritten."""

from __future__ import annotations

import os
from pathlib import Path, PurePath

import pytest

from deblur_cli.errors import UsageError
from deblur_cli.images.paths import InputItem, Job, collect_inputs, plan_outputs, scan_inputs, should_skip


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """photos/{b.jpg, a.PNG, img2.jpg, img10.jpg, notes.txt, .hidden.jpg, ._a.jpg, 2024/c.webp, .cache/d.jpg}."""
    monkeypatch.chdir(tmp_path)
    for name in ("b.jpg", "a.PNG", "img2.jpg", "img10.jpg", "notes.txt", ".hidden.jpg", "._a.jpg",
                 "2024/c.webp", "2024/may/e.tif", ".cache/d.jpg"):
        touch(tmp_path / "photos" / name)
    return tmp_path


def names(items) -> list[str]:
    return [str(item.rel) for item in items]


def good(items_or_jobs):
    return [x for x in items_or_jobs if x.problem is None]


# ---------------------------------------------------------------------------------------------------------- inputs


def test_folder_takes_its_images_in_natural_order(tree):
    items = collect_inputs(["photos"], recursive=False)
    assert names(items) == ["a.PNG", "b.jpg", "img2.jpg", "img10.jpg"]
    assert all(not item.explicit and item.problem is None for item in items)


def test_recursive_keeps_relative_paths_and_skips_hidden_folders(tree):
    items = collect_inputs(["photos"], recursive=True)
    assert names(items) == ["2024/c.webp", "2024/may/e.tif", "a.PNG", "b.jpg", "img2.jpg", "img10.jpg"]
    assert items[0].path == Path("photos/2024/c.webp")


def test_explicit_non_image_is_a_problem_for_that_file_only(tree):
    items = collect_inputs(["photos/notes.txt", "photos/b.jpg", "photos/missing.jpg"], recursive=False)
    assert [i.problem is None for i in items] == [False, True, False]
    assert "notes.txt" in items[0].problem and "not a supported image type" in items[0].problem
    assert "no such file" in items[2].problem


def test_folder_without_images_is_reported(tree):
    (tree / "empty").mkdir()
    [item] = collect_inputs(["empty"], recursive=False)
    assert "no images" in item.problem


def test_sub_folders_left_out_without_recursive_are_listed(tree):
    touch(tree / "photos" / "notes" / "readme.txt")  # no images below: not worth mentioning
    scanned = scan_inputs(["photos", "photos/"], recursive=False)
    assert scanned.skipped_folders == [Path("photos/2024")]  # once; hidden .cache is never scanned
    assert scan_inputs(["photos"], recursive=True).skipped_folders == []
    assert scan_inputs(["photos/*"], recursive=False).skipped_folders == [Path("photos/2024/may")]


def test_folder_with_images_only_in_sub_folders_says_how_many_and_how(tree):
    touch(tree / "albums" / "x" / "a.jpg")
    touch(tree / "albums" / "y" / "b.png")
    scanned = scan_inputs(["albums"], recursive=False)
    [item] = scanned.items
    assert "2 sub-folders with images: add --recursive" in item.problem
    assert scanned.skipped_folders == []  # said once, in the problem


def test_glob_is_expanded_and_keeps_paths_below_its_fixed_part(tree):
    items = collect_inputs(["photos/*.jpg"], recursive=False)
    assert names(items) == ["b.jpg", "img2.jpg", "img10.jpg"]  # no hidden files
    deep = collect_inputs(["photos/**/*.tif"], recursive=False)
    assert names(deep) == ["2024/may/e.tif"]


def test_glob_without_matches_is_reported(tree):
    [item] = collect_inputs(["photos/*.gif"], recursive=False)
    assert "no images match" in item.problem


def test_same_file_twice_or_through_a_link_is_kept_once(tree):
    os.symlink(tree / "photos" / "b.jpg", tree / "link.jpg")
    items = collect_inputs(["photos/b.jpg", "photos", "./photos/b.jpg", "link.jpg"], recursive=False)
    assert [str(i.path) for i in items] == ["photos/b.jpg", "photos/a.PNG", "photos/img2.jpg", "photos/img10.jpg"]


def test_arguments_keep_their_order(tree):
    items = collect_inputs(["photos/img10.jpg", "photos/b.jpg"], recursive=False)
    assert names(items) == ["img10.jpg", "b.jpg"]


# --------------------------------------------------------------------------------------------------------- outputs


def plan(args, output=None, recursive=False, **kwargs) -> list[Job]:
    return plan_outputs(collect_inputs(args, recursive), output, **kwargs)


def test_beside_the_input_with_suffix(tree):
    jobs = plan(["photos/b.jpg", "photos/a.PNG"])
    assert [str(j.dst) for j in jobs] == ["photos/b_deblurred.jpg", "photos/a_deblurred.PNG"]


def test_ext_replaces_the_extension_never_doubles_it(tree):
    jobs = plan(["photos/a.PNG", "photos/b.jpg"], ext="png")
    assert [str(j.dst) for j in jobs] == ["photos/a_deblurred.png", "photos/b_deblurred.png"]
    assert [str(j.dst) for j in plan(["photos/b.jpg"], ext=".WEBP")] == ["photos/b_deblurred.webp"]


def test_unknown_ext_is_a_usage_error(tree):
    with pytest.raises(UsageError, match="gif"):
        plan(["photos/b.jpg"], ext="gif")


def test_output_folder_keeps_names_and_mirrors_the_tree(tree):
    jobs = plan(["photos"], output="out", recursive=True)
    assert [str(j.dst) for j in jobs] == ["out/2024/c.webp", "out/2024/may/e.tif", "out/a.PNG", "out/b.jpg",
                                          "out/img2.jpg", "out/img10.jpg"]


def test_output_folder_with_ext(tree):
    jobs = plan(["photos/b.jpg"], output="out/", ext="tif", single_input=False)
    assert [str(j.dst) for j in jobs] == ["out/b.tif"]


def test_output_file_for_a_single_input(tree):
    [job] = plan(["photos/b.jpg"], output="result.png")
    assert job.dst == Path("result.png")


def test_existing_folder_with_an_image_like_name_is_a_folder(tree):
    (tree / "shots.png").mkdir()
    [job] = plan(["photos/b.jpg"], output="shots.png")
    assert job.dst == Path("shots.png/b.jpg")


def test_output_file_with_several_inputs_is_a_usage_error(tree):
    with pytest.raises(UsageError, match="folder"):
        plan(["photos"], output="result.png")


def test_output_file_and_a_different_ext_is_a_usage_error(tree):
    with pytest.raises(UsageError):
        plan(["photos/b.jpg"], output="result.png", ext="jpg")


def test_output_folder_equal_to_the_input_folder_is_refused_per_file(tree):
    jobs = plan(["photos"], output="photos")
    assert all(j.dst is None and "overwrite" in j.problem for j in jobs)


def test_output_through_a_symlinked_folder_is_refused(tree):
    os.symlink(tree / "photos", tree / "alias")
    jobs = plan(["photos/b.jpg"], output="alias", single_input=False)
    assert jobs[0].dst is None and "overwrite" in jobs[0].problem


def test_empty_suffix_beside_the_input_is_refused(tree):
    [job] = plan(["photos/b.jpg"], suffix="")
    assert job.dst is None and "overwrite its own input" in job.problem


def test_output_onto_another_input_is_refused(tree):
    touch(tree / "other" / "b.jpg")
    jobs = plan(["other/b.jpg", "photos/b.jpg"], output="photos")
    assert jobs[0].dst is None and "the input photos/b.jpg" in jobs[0].problem
    assert jobs[1].dst is None and "its own input" in jobs[1].problem


def test_name_clash_from_ext_is_resolved_deterministically(tree):
    touch(tree / "in" / "a.jpg")
    touch(tree / "in" / "a.png")
    jobs = plan(["in"], output="out", ext="png")
    assert {str(j.src): str(j.dst) for j in jobs} == {"in/a.jpg": "out/a_jpg.png", "in/a.png": "out/a.png"}
    beside = plan(["in"], ext="png")
    assert {str(j.src): str(j.dst) for j in beside} == {"in/a.jpg": "in/a_deblurred_jpg.png",
                                                          "in/a.png": "in/a_deblurred.png"}


def test_clash_that_renaming_cannot_solve_is_reported(tree):
    touch(tree / "x" / "p.jpg")
    touch(tree / "y" / "p.jpg")
    jobs = plan(["x", "y"], output="out")
    assert str(jobs[0].dst) == "out/p.jpg"
    assert jobs[1].dst is None and "clashes" in jobs[1].problem and "x/p.jpg" in jobs[1].problem


def test_problems_pass_through_the_plan(tree):
    jobs = plan(["photos/notes.txt", "photos/b.jpg"])
    assert jobs[0].dst is None and "not a supported image type" in jobs[0].problem
    assert str(jobs[1].dst) == "photos/b_deblurred.jpg"


# -------------------------------------------------------------------------------------------------------- resuming


def test_rerun_beside_inputs_skips_results_and_earlier_outputs(tree):
    for job in plan(["photos"]):
        touch(job.dst)
    jobs = plan(["photos"])
    runnable = [j for j in jobs if should_skip(j, overwrite=False) is None]
    assert runnable == []
    earlier = [j for j in jobs if j.skip]
    assert {j.src.name for j in earlier} == {"a_deblurred.PNG", "b_deblurred.jpg", "img2_deblurred.jpg",
                                            "img10_deblurred.jpg"}
    assert {should_skip(j, False) for j in jobs if not j.skip} == {"output exists"}
    with_overwrite = [j for j in jobs if should_skip(j, overwrite=True) is None]
    assert {j.src.name for j in with_overwrite} == {"a.PNG", "b.jpg", "img2.jpg", "img10.jpg"}


def test_shell_expanded_outputs_are_recognised_as_earlier_outputs(tree):
    touch(tree / "photos" / "b_deblurred.jpg")
    jobs = plan(["photos/b.jpg", "photos/b_deblurred.jpg"])
    assert jobs[0].problem is None and str(jobs[0].dst) == "photos/b_deblurred.jpg"
    assert jobs[1].skip and "photos/b.jpg" in jobs[1].skip


def test_output_folder_inside_the_input_tree_is_not_read_again(tree):
    touch(tree / "photos" / "out" / "old.jpg")
    jobs = plan(["photos"], output="photos/out", recursive=True)
    assert [j.skip for j in jobs if j.src.name == "old.jpg"] == ["inside the output folder"]


def test_should_skip_never_skips_a_failed_job():
    assert should_skip(Job(Path("a.jpg"), None, problem="broken"), overwrite=False) is None


def test_items_can_be_built_by_hand(tmp_path):
    src = touch(tmp_path / "a.jpg")
    [job] = plan_outputs([InputItem(src, PurePath("a.jpg"))], None)
    assert job.dst == tmp_path / "a_deblurred.jpg"
