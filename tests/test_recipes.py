"""Training recipes: the papers' numbers, one recipe per model, and the quick one."""

import pytest

import keras_cnns
from keras_cnns.training import recipes
from keras_cnns.data.augment import PRESETS


@pytest.mark.parametrize("name", keras_cnns.list_models())
def test_every_model_carries_a_valid_paper_recipe(name):
    info = keras_cnns.model_info(name)
    for recipe in (info.recipe, recipes.recipe(name, "quick")):
        assert recipe.optimizer in recipes.OPTIMIZERS and recipe.schedule in recipes.SCHEDULES
        assert recipe.augment in PRESETS and recipe.lr > 0 and recipe.batch_size > 0 and recipe.epochs > 0
    # The paper recipe cites a paper of the model's lineage by its first author.
    first_author = info.paper.split(",")[0].split(".")[0]
    # By variant, then by family module: BN-Inception lives with GoogLeNet but trains its own way.
    authors = {"bn_inception": "Ioffe", "inception_resnet": "Szegedy", "mobilenet": "Sandler", "alexnet": "Krizhevsky", "resnet": "He"}
    assert info.recipe.source.startswith(authors.get(name, authors.get(info.family, first_author)))


def test_the_issue_numbers():
    alexnet = keras_cnns.model_info("alexnet").recipe
    assert (alexnet.optimizer, alexnet.momentum, alexnet.lr, alexnet.weight_decay, alexnet.batch_size, alexnet.dropout) == (
        "sgd", 0.9, 0.01, 5e-4, 128, 0.5
    )
    assert alexnet.schedule == "plateau" and alexnet.schedule_args["factor"] == 0.1
    googlenet = keras_cnns.model_info("googlenet").recipe
    assert googlenet.schedule == "step" and googlenet.schedule_args == {"gamma": 0.96, "every": 8}
    assert googlenet.aux_loss_weight == 0.3
    resnet = keras_cnns.model_info("resnet50").recipe
    assert (resnet.lr, resnet.weight_decay, resnet.batch_size, resnet.schedule) == (0.1, 1e-4, 256, "plateau")
    assert resnet.dropout is None and resnet.schedule_args["factor"] == 0.1
    v3 = keras_cnns.model_info("inception_v3").recipe
    assert (v3.optimizer, v3.lr, v3.rmsprop_epsilon, v3.schedule_args, v3.label_smoothing) == (
        "rmsprop", 0.045, 1.0, {"gamma": 0.94, "every": 2}, 0.1
    )


def test_quick_keeps_the_auxiliary_weight_and_overrides_replace_fields():
    assert recipes.recipe("googlenet", "quick").aux_loss_weight == 0.3
    assert recipes.recipe("resnet18", "quick").aux_loss_weight == 0.0
    assert keras_cnns.model_info("vgg16").recipe.replace(lr=0.001).lr == 0.001
    with pytest.raises(ValueError, match=r"Unknown recipe fields \['learning_rate'\]"):
        keras_cnns.model_info("vgg16").recipe.replace(learning_rate=0.001)
    with pytest.raises(ValueError, match="Received: kind='fast'"):
        recipes.recipe("vgg16", "fast")
