/**
 * Switchyard: train neural networks in TypeScript. One IR, autodiff as a graph transform, whole training
 * steps compiled to ONNX and run by ONNX Runtime.
 *
 * HTTP serving and its live monitor are the sub-path `switchyard/serve`: they need the optional package fastify,
 * and keeping them out of this entry keeps fastify's types out of a consumer's type-check.
 *
 * @example
 * import { nn, optim, TrainStep } from 'switchyard';
 * import { startServer } from 'switchyard/serve';
 */
export * from './core/index.ts';
export * as nn from './nn/index.ts';
export * as optim from './optim/index.ts';
export * as data from './data/index.ts';
export { compile, CompiledGraph, type HostTensor, type CompileOptions, type SpinPolicy } from './runtime/session.ts';
// The shared device (runtime/webgpu/shared.ts) stays internal: its type names Dawn's GPUDevice, which a consumer
// without `webgpu` lacks.
export { compileFor, resolveDevice, releaseSharedWebGpuDevice, webGpuAdapter, DEVICE_CHOICES, type DeviceChoice, type CompileForOptions } from './runtime/compile-for.ts';
export type { Executable } from './runtime/executor.ts';
export { lowerGraph, OPSET } from './runtime/onnx/lower.ts';
export { encodeModel, decodeModel } from './runtime/onnx/proto.ts';
export { validateModel } from './runtime/onnx/validate.ts';
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors } from './runtime/safetensors.ts';
export { TrainStep, type TrainStepOptions, type StepResult, type BatchSpec, type LossFn } from './train/step.ts';
export { Forward, exportOnnx, type ForwardFn, type ForwardOptions } from './train/forward.ts';
export { saveCheckpoint, loadCheckpoint, loadWeights, writeRun } from './train/checkpoint.ts';
export { openRun, isRunDir, type OpenedRun } from './train/run-dir.ts';
export { trainTabular, type TabularTrainOptions, type TabularTrainSummary } from './train/tabular.ts';
export { predictTabular, exportTabular } from './train/tabular-predict.ts';
export { trainLm, evaluateLm, type LmTrainOptions } from './train/lm.ts';
export {
  trainTextClassifier, TEXT_CLASSIFIER_RANGES, type TextClassifierTrainOptions, type TextExamples,
} from './train/text-classifier.ts';
export { loadTextClassifierRun, predictTextClassifier, textClassifierOnnx } from './train/text-classifier-run.ts';
export { TextClassifier, type TextPooling } from './models/text-classifier.ts';
export { UNet, UNET_PRESETS, type UNetConfig } from './models/unet.ts';
export {
  alphaBarSchedule, diffusionBatchSpec, diffusionFeeds, diffusionLoss, DIFFUSION_OBJECTIVES, type DiffusionObjective,
  minSnrWeight, type NoiseSchedule,
} from './train/diffusion.ts';
export { DIFFUSION_TRAIN_RANGES, emaSnapshotFile, trainDiffusion, type DiffusionTrainOptions } from './train/diffusion-run.ts';
export {
  DEFAULT_GUIDANCE, denoiseLoop, SAMPLE_RANGES, sampleDiffusion, samplerSteps, type Sampler, type SamplerStep,
  type DiffusionSampleOptions, type DiffusionSamples,
} from './train/diffusion-sample.ts';
export { exportSamplingLoop, type SamplingLoopExportOptions } from './train/diffusion-onnx.ts';
export {
  ConvClassifier, ConvEncoder, MNIST_CLASSIFIER_CONFIG, type ConvClassifierConfig, type ConvEncoderConfig,
} from './models/conv-classifier.ts';
export { ConvPretrainer, type ImageSslObjective } from './models/conv-pretrain.ts';
export {
  IMAGE_SSL_RANGES, patchMask, trainImageSsl, type ImageSslRunConfig, type ImageSslSummary, type ImageSslTrainOptions,
} from './train/image-ssl.ts';
export {
  IMAGE_CLASSIFIER_RANGES, trainImageClassifier, type ImageClassifierRunConfig, type ImageClassifierSummary,
  type ImageClassifierTrainOptions,
} from './train/image-fine-tune.ts';
export {
  runConvClassifier, trainConvClassifier, type ConvClassifierOutputs, type ConvClassifierRecipe,
} from './train/image-classifier.ts';
export {
  classifierFid, CLASSIFIER_FID_KIND, type ClassifierFidOptions, type ClassifierFidResult,
} from './eval/classifier-fid.ts';
export {
  loadReferenceClassifier, MNIST_REFERENCE_RECIPE, mnistSplitImages, type ReferenceClassifier, type ReferenceRecord,
} from './eval/reference-classifier.ts';
export { GPT, GPT_PRESETS, type GptConfig } from './models/gpt.ts';
export {
  readInitSource, applyInitSource, loadInitMap, initReportLine, type InitFromOptions, type InitNameMap, type InitSource,
  type InitReport,
} from './train/init-from.ts';
export { exportHfGpt2 } from './train/export-run.ts';
export {
  gptToHfGpt2, hfGpt2ToGpt, hfGpt2Config, gptFromHfGpt2, gpt2Incompatibilities, isHfGpt2Names, type HfGpt2Config,
} from './models/hf-gpt2.ts';
export { generate, exportLm, loadLm, LmSession, type SampleOptions, type GenerateResult } from './train/generate.ts';
export { fit, MlpTrainer, type FitOptions, type FittedModel, type EpochResult } from './train/fit.ts';
export { findLabelIssues, confidentLearning, stratifiedFolds, type LabelIssueOptions, type LabelIssueResult, type LabelIssue, type ConfidentLearningResult } from './audit/label-issues.ts';
export { findNearDuplicateText, findCrossSplitNearDuplicates, nearDuplicateClusters, crossSplitMatches, type NearDupOptions, type NearDupCluster, type CrossSplitMatch } from './audit/near-duplicates.ts';
export { measureContamination, findContamination, type ContaminationOptions, type ContaminationResult } from './audit/contamination.ts';
export { runAudit, worstSeverity, type AuditOptions } from './audit/run.ts';
export { readTable, DuckSession, type ReadTableOptions, type TableFormat } from './data/readers/index.ts';
export * as stats from './stats/index.ts';
export { ClassificationScorer, type MetricScorer, type ClassificationOptions } from './eval/metrics.ts';
export { RegressionScorer, LanguageModelScorer } from './eval/metrics-regression.ts';
export { metricsWithCi, pairedMetricDiffs, type MetricValue, type MetricDiff } from './eval/bootstrap-metrics.ts';
export { calibrationSummary, fitTemperature, applyTemperature, type CalibrationSummary } from './eval/calibration.ts';
export { sliceMetrics, sliceLabels, type SliceReport } from './eval/slices.ts';
export { fairnessReport, reweighingWeights, reweighingExperiment, optimizeThresholds, type FairnessReport } from './eval/fairness.ts';
export { compareModels, comparePaired, type PairedCompareResult, type CompareRow } from './eval/compare.ts';
export { loadEvalModel, type EvalModel, type TabularEvalModel, type LmEvalModel, type ClassifierOutputs } from './eval/model.ts';
export { PgdAttack, fgsm, robustAccuracyCurve, attackSurface, type AttackOptions, type AttackNorm, type RobustPoint } from './eval/adversarial.ts';
export { corruptTable, corruptibleColumns, typos, wordDrop, corruptText, type TabularCorruption } from './eval/corruptions.ts';
export { corruptImages, IMAGE_CORRUPTIONS, type ImageCorruption } from './eval/image-corruptions.ts';
export { mspScore, energyScore, fitMahalanobis, mahalanobisScore, oodDetection, shiftedCopy, fprAtTpr } from './eval/ood.ts';
export { runEval, type EvalOptions, type EvalResult } from './eval/run.ts';
export { renderEvalHtml } from './report/eval-report.ts';
export { renderReport, findingsHtml, escapeHtml, checksHtml, type ReportDoc, type ReportSection, type Block as ReportBlock, type Cell as ReportCell, type CheckRow, type CheckStatus } from './report/html.ts';
export { histogramChart, barChart, reliabilityDiagram, rocChart, confusionHeatmap, lineChart, intervalChart, type ReliabilityBin, type Curve, type BarSeries } from './report/charts.ts';
export { evalChecks, EVAL_CHECK_THRESHOLDS } from './report/eval-checks.ts';
export { auditChecks } from './report/audit-checks.ts';
export { collectEvidence, factAt, jsonPointer, type ModelEvidence, type Fact, type SourceRef } from './report/evidence.ts';
export { buildModelCard, type ModelCard } from './report/model-card.ts';
export { renderModelCardMarkdown, modelCardReportDoc, writeModelCard } from './report/model-card-render.ts';
export { MODEL_CARD_ANSWERS } from './report/card-questions.ts';
export { buildRiskProfile, riskProfileReportDoc, parseFailOn, evaluateGates, GOVERNANCE_MAPPING, type RiskProfile, type Gate } from './governance/profile.ts';
export { renderAuditHtml } from './report/audit-report.ts';
export { readAuditJson } from './report/audit-view.ts';
export { buildDatasheet, renderDatasheetMarkdown, datasheetReportDoc, type Datasheet } from './report/datasheet.ts';
export { datasheetTemplate, parseDatasheetAnswers, answersTemplate, parseAnswers, type DatasheetAnswers, type AnswersSpec } from './report/datasheet-answers.ts';
export { SwitchyardError } from './util/errors.ts';
export { Rng } from './util/rng.ts';
export { openRegistry, type Registry, type ModelVersion, type HistoryEntry, type RegistryOptions, type GcOptions, type GcResult } from './registry/registry.ts';
export { openDb, type Db, type Dialect } from './registry/db.ts';
export {
  quantizeModel, quantizeSymmetric, type Int8MatmulRecord, type QuantizeMode, type QuantizeOptions, type QuantizeReport,
  type QuantizedTensor,
} from './compress/quantize.ts';
export { assertInt8Runs, detectInt8Cpu, int8CpuFrom, needsVnni, type Int8Cpu } from './runtime/int8-cpu.ts';
export { checkQuantized, type QuantizeCheck, type CheckOptions, type OutputDiff } from './compress/check.ts';
export { compressModel, type CompressOptions, type CompressResult } from './compress/compress.ts';
export { openIncidentLog, IncidentLog, type Incident } from './monitor/incidents.ts';
export { chooseTest, columnDrift, hashedEmbedding } from './monitor/drift.ts';
export { driftReport, writeDriftReport } from './monitor/report.ts';
