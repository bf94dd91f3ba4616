/**
 * What only a person can say in a model card (Mitchell et al., "Model Cards for Model Reporting", FAT* 2019)
 * and in the risk profile: the questions of the answers YAML of `switchyard card --answers` (the same file
 * `switchyard governance --answers` reads), in the card's section order, then the governance questions.
 */
import type { AnswersSpec } from './datasheet-answers.ts';
import type { DatasheetQuestion, DatasheetSectionSpec } from './datasheet-questions.ts';

const q = (key: string, question: string): DatasheetQuestion => ({ key, question });

/**
 * The question sections; ids are the YAML keys.
 *
 * @example
 * MODEL_CARD_SECTIONS.map((s) => s.id); // ['details', 'use', 'factors', 'metrics', 'data', 'ethics', 'caveats', 'governance']
 */
export const MODEL_CARD_SECTIONS: readonly DatasheetSectionSpec[] = [
  { id: 'details', title: 'Model details', questions: [
    q('developers', 'Who developed the model, and for which organisation?'),
    q('contact', 'Where do questions or comments about the model go?'),
    q('license', 'Under which license is the model available?'),
    q('citation', 'How should the model be cited? Is there a paper or other resource?'),
    q('notes', 'Anything else about the model (training procedure, fairness constraints, features)?'),
  ] },
  { id: 'use', title: 'Intended use', questions: [
    q('primary', 'What is the model for (primary intended uses)?'),
    q('users', 'Who is it for (primary intended users)?'),
    q('avoid', 'Which uses is it not meant for (out-of-scope uses)?'),
  ] },
  { id: 'factors', title: 'Factors', questions: [
    q('relevant', 'Which groups, instruments or environments could change how well the model works (relevant factors)?'),
    q('evaluated', 'Which of those factors were evaluated, and why those?'),
  ] },
  { id: 'metrics', title: 'Metrics', questions: [
    q('choice', 'Why these performance measures? What do errors of each kind cost?'),
    q('thresholds', 'Which decision thresholds are used, and why?'),
  ] },
  { id: 'data', title: 'Evaluation and training data', questions: [
    q('evaluation', 'What is the evaluation data, why was it chosen, and how was it preprocessed?'),
    q('training', 'What is the training data (or where is its datasheet)?'),
  ] },
  { id: 'ethics', title: 'Ethical considerations', questions: [
    q('sensitive', 'Does the model use sensitive data (e.g. protected classes)?'),
    q('life', 'Is the model used to make decisions central to human life or flourishing?'),
    q('risks', 'What risks and harms could the model cause, and to whom?'),
    q('mitigations', 'What was done to reduce those risks?'),
    q('fraught', 'Are there use cases that are known to be fraught?'),
  ] },
  { id: 'caveats', title: 'Caveats and recommendations', questions: [
    q('recommendations', 'What should users know or do that the sections above do not say?'),
  ] },
  { id: 'governance', title: 'Governance (risk profile)', questions: [
    q('owner', "Who is accountable for this model's risks (a name or a role)?"),
    q('legal', 'Which laws, regulations and standards apply to the model, and how are they met?'),
    q('tolerance', 'What risk tolerance applies: which measured results would stop a release?'),
    q('oversight', 'How do people oversee, override or appeal its outputs?'),
    q('feedback', 'How can users and affected people report problems?'),
    q('incidents', 'Who responds to incidents, how, and how are affected people told?'),
    q('decommission', 'How is the model switched off or retired when it misbehaves?'),
    q('thirdparty', 'Which third-party data, models or software does it rely on, and how are their risks handled?'),
    q('impact', 'Was an impact assessment on individuals, groups and society done? Where is it?'),
    q('review', 'How often is this profile reviewed, and by whom?'),
  ] },
];

/**
 * The answers file of model cards and risk profiles.
 *
 * @example
 * writeFileSync('card.yaml', answersTemplate(MODEL_CARD_ANSWERS, 'penguins'));
 */
export const MODEL_CARD_ANSWERS: AnswersSpec = {
  sections: MODEL_CARD_SECTIONS,
  errorCode: 'E_CARD_ANSWER',
  initCommand: 'switchyard card --init',
  header: [
    '# Model card answers for `switchyard card` and `switchyard governance` (after Mitchell et al., "Model Cards',
    '# for Model Reporting", and the NIST AI RMF). Answer what only a person knows: who made the model, what it is',
    '# for and not for, risks, mitigations, who is accountable. Every number in the card comes from the reports',
    '# linked to the registry version, never from here. Leave an answer empty and the card lists it as open.',
    '# Several lines: use a block scalar, e.g.',
    '#   primary: |',
    '#     First paragraph.',
    '#     More text.',
  ],
};
