import hashlib
import io

import pytest
from PIL import Image

from scotoma.types import (
    Completion,
    Conversation,
    GenConfig,
    ImageError,
    ImagePart,
    ImageRef,
    TextPart,
    cut_at_stop,
)


def png(color=(255, 0, 0), size=(8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_ref_hashes_bytes_and_reads_size(tmp_path):
    data = png(size=(8, 6))
    path = tmp_path / "a.png"
    path.write_bytes(data)
    ref = ImageRef.from_path(path)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert (ref.width, ref.height) == (8, 6)
    assert ref.data is None  # pixels are not kept unless asked
    assert ref.load().size == (8, 6)
    assert ref.to_dict() == {"sha256": ref.sha256, "uri": str(path), "width": 8, "height": 6}


def test_equal_bytes_are_equal_refs_whatever_the_path(tmp_path):
    data = png()
    (tmp_path / "a.png").write_bytes(data)
    in_memory = ImageRef.from_bytes(data)
    assert in_memory.sha256 == ImageRef.from_path(tmp_path / "a.png").sha256
    assert in_memory.load().getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"plain text, not an image", "not a readable image"),
        (png()[:40], "not a readable image"),
    ],
    ids=["missing", "not-an-image", "truncated"],
)
def test_bad_image_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "broken.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as error:
        ImageRef.from_path(path)
    assert "broken.png" in str(error.value)


def test_image_changed_on_disk_is_detected(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(png((0, 0, 255)))
    ref = ImageRef.from_path(path)
    path.write_bytes(png((0, 255, 0)))
    with pytest.raises(ImageError, match="changed"):
        ref.load()


def test_conversation_keeps_images_in_place_and_round_trips():
    one, two = ImageRef.from_bytes(png((1, 2, 3))), ImageRef.from_bytes(png((4, 5, 6)))
    conversation = Conversation.user(
        "Image1: ", one, " Image2: ", two, " Which is darker?", system="Be brief."
    )
    user = conversation.messages[1]
    assert [type(p) for p in user.content] == [TextPart, ImagePart, TextPart, ImagePart, TextPart]
    assert conversation.images == [one, two]
    assert user.text == "Image1:  Image2:  Which is darker?"
    data = conversation.to_dict()
    assert data["messages"][1]["content"][1] == {"type": "image", "image": one.to_dict()}
    back = Conversation.from_dict(data)
    assert back == conversation  # bytes are not part of equality, hashes are
    follow_up = conversation.then("assistant", "Image 1.")
    assert len(follow_up.messages) == 3 and len(conversation.messages) == 2


def test_conversation_rejects_unknown_parts():
    with pytest.raises(TypeError, match="message part"):
        Conversation.user("text", 3)


def test_gen_config_validates_and_serializes():
    assert GenConfig(stop=["</s>"]).to_dict()["stop"] == ["</s>"]
    for bad in ({"max_new_tokens": 0}, {"temperature": -1}, {"top_p": 0}, {"n": 0}):
        with pytest.raises(ValueError):
            GenConfig(**bad)


def test_completion_round_trip_and_stop_cutting():
    completion = Completion("yes", prompt_tokens=10, completion_tokens=1, latency_s=0.5)
    assert Completion.from_dict(completion.to_dict()) == completion
    assert cut_at_stop("a b</r> c</x>", ["</x>", "</r>"]) == ("a b", True)
    assert cut_at_stop("abc", ["z"]) == ("abc", False)


def test_images_over_the_pixel_limit_are_refused_from_their_header(monkeypatch):
    import io

    from PIL import Image

    from scotoma.types import ImageError, ImageRef

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buffer, "PNG")
    data = buffer.getvalue()
    assert ImageRef.from_bytes(data).width == 40
    monkeypatch.setenv("SCOTOMA_MAX_IMAGE_PIXELS", "1199")  # 40 x 30 = 1200
    with pytest.raises(ImageError, match=r"40x30 = 0.0 megapixels, above the limit"):
        ImageRef.from_bytes(data)
    assert ImageRef.from_bytes(data, max_pixels=1200).height == 30  # a caller's own limit wins
    monkeypatch.setenv("SCOTOMA_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(ImageError, match="not a whole number"):
        ImageRef.from_bytes(data)
