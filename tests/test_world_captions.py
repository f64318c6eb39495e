from scotoma.world.programs.language import world_vocabulary
from scotoma.world.programs.lexicon import tokenize
from scotoma.world.scenes.captions import caption_box, caption_scene
from scotoma.world.scenes.scene import Box, Scene, WorldObject

CIRCLE = WorldObject("circle", "blue", 10, 50, 5)
SQUARE = WorldObject("square", "yellow", 30, 0, 70)
TRIANGLE = WorldObject("triangle", "black", 20, 10, 5)


def test_box_caption_lists_objects_top_to_bottom_then_left_to_right():
    assert caption_box(Box((SQUARE, CIRCLE, TRIANGLE))) == (
        "medium black triangle , small blue circle , large yellow square"
    )


def test_scene_caption_labels_images_only_when_there_are_several():
    one = Scene((Box((CIRCLE,)),))
    two = Scene((Box((CIRCLE,)), Box((SQUARE, TRIANGLE))))
    assert caption_scene(one) == "small blue circle"
    assert (
        caption_scene(two)
        == "image 1 : small blue circle . image 2 : medium black triangle , large yellow square"
    )


def test_captions_stay_inside_the_world_vocabulary():
    vocabulary = set(world_vocabulary())
    caption = caption_scene(Scene((Box((CIRCLE, SQUARE)), Box((TRIANGLE,)), Box((SQUARE,)))))
    assert set(tokenize(caption)) <= vocabulary
