// MMedPretrain: pretraining data from a corpus.
// - TokenWindows.swift: the window rule of MMedLM's prepare_tokenized_dataset.py (pure functions over token ids).
// - MegatronIndex.swift, NumpyArrayFile.swift: the on-disk formats (Megatron .idx, NumPy .npy v1.0).
// - PretrainJob.swift, PretrainUnit.swift: the job on MMedCorpus' work units (tokenize, window, write per-unit parts).
// - PretrainAssembler.swift: parts to shards in input order, dataset.json.
// - SupervisedDataset.swift: tokenized SFT data (`mmed bench prepare --tokenized`): MMedLM's finetune `preprocess` rule,
//   one unpadded sequence per example with a prompt-masked loss mask, as Megatron shards or JSONL with labels.
