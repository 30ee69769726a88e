"""Task rows, JSONL I/O and the dataset registry."""

from halo_forge.data.task import Task
from halo_forge.data.registry import DATASETS, dataset_names, get_dataset, load_tasks

__all__ = ["DATASETS", "Task", "dataset_names", "get_dataset", "load_tasks"]
