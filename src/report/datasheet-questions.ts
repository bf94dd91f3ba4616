/**
 * The questions of a datasheet, after Gebru et al., "Datasheets for Datasets" (CACM 2021), grouped in their
 * seven sections. Each question has a stable YAML key; the answers file and the template use these keys.
 */

/**
 * One question of a datasheet section.
 *
 * @example
 * const q: DatasheetQuestion = { key: 'license', question: 'Under which license is it distributed?' };
 */
export interface DatasheetQuestion {
  /** YAML key under the section, e.g. `purpose`. */
  key: string;
  question: string;
}

/**
 * One section of a datasheet and its questions.
 *
 * @example
 * DATASHEET_SECTIONS.find((s) => s.id === 'uses')!.questions.length; // 5
 */
export interface DatasheetSectionSpec {
  /** YAML key, e.g. `motivation`. */
  id: string;
  title: string;
  questions: DatasheetQuestion[];
}

const q = (key: string, question: string): DatasheetQuestion => ({ key, question });

/**
 * The seven sections and their questions, in document order.
 *
 * @example
 * DATASHEET_SECTIONS.map((s) => s.id); // ['motivation', 'composition', 'collection', 'preprocessing', 'uses', 'distribution', 'maintenance']
 */
export const DATASHEET_SECTIONS: readonly DatasheetSectionSpec[] = [
  { id: 'motivation', title: 'Motivation', questions: [
    q('purpose', 'For what purpose was the dataset created? Was there a specific task or gap in mind?'),
    q('creators', 'Who created the dataset, and on behalf of which entity?'),
    q('funding', 'Who funded the creation of the dataset?'),
    q('comments', 'Any other comments?'),
  ] },
  { id: 'composition', title: 'Composition', questions: [
    q('instances', 'What do the instances represent (documents, people, transactions, ...)?'),
    q('count', 'How many instances are there in total, of each type?'),
    q('sample', 'Is it all possible instances or a sample? If a sample, of what larger set, and is it representative?'),
    q('fields', 'What data does each instance consist of?'),
    q('labels', 'Is there a label or target associated with each instance? How are the classes balanced?'),
    q('missing', 'Is any information missing from individual instances? Why?'),
    q('splits', 'Are there recommended data splits (training, validation, test)?'),
    q('issues', 'Are there any errors, sources of noise, or redundancies in the dataset?'),
    q('external', 'Is the dataset self-contained, or does it link to or rely on external resources?'),
    q('confidential', 'Does the dataset contain data that might be considered confidential, offensive or anxiety-inducing?'),
    q('subpopulations', 'Does the dataset identify any subpopulations (by age, gender, ...)? How are they distributed?'),
    q('identifiable', 'Is it possible to identify individuals, directly or indirectly? Does it contain sensitive data?'),
  ] },
  { id: 'collection', title: 'Collection process', questions: [
    q('acquisition', 'How was the data associated with each instance acquired (observed, reported, derived)?'),
    q('mechanisms', 'What mechanisms or procedures were used to collect the data (sensors, software, manual curation)?'),
    q('sampling', 'If the dataset is a sample, what was the sampling strategy?'),
    q('collectors', 'Who was involved in the collection process, and how were they compensated?'),
    q('timeframe', 'Over what timeframe was the data collected?'),
    q('ethics', 'Were any ethical review processes conducted?'),
    q('consent', 'Were the individuals concerned notified, and did they consent? Can they revoke consent?'),
    q('impact', 'Has an analysis of the potential impact on data subjects been conducted?'),
  ] },
  { id: 'preprocessing', title: 'Preprocessing, cleaning and labeling', questions: [
    q('steps', 'Was any preprocessing, cleaning or labeling done (tokenization, removal of instances, missing-value handling)?'),
    q('raw', 'Was the raw data saved in addition to the processed data? Where?'),
    q('software', 'Is the software used to preprocess or label the instances available?'),
  ] },
  { id: 'uses', title: 'Uses', questions: [
    q('used', 'Has the dataset been used for any tasks already?'),
    q('repository', 'Is there a repository that links to papers or systems that use the dataset?'),
    q('tasks', 'What other tasks could the dataset be used for?'),
    q('limitations', 'Is there anything about the composition or collection that might impact future uses (unfair treatment, legal or financial risks)?'),
    q('avoid', 'Are there tasks for which the dataset should not be used?'),
  ] },
  { id: 'distribution', title: 'Distribution', questions: [
    q('thirdParties', 'Will the dataset be distributed to third parties outside the creating entity?'),
    q('how', 'How will it be distributed (tarball, API, GitHub)? Does it have a DOI?'),
    q('when', 'When will it be distributed?'),
    q('license', 'Under which copyright or intellectual-property license, or terms of use, is it distributed?'),
    q('restrictions', 'Have third parties imposed restrictions, or do export controls apply?'),
  ] },
  { id: 'maintenance', title: 'Maintenance', questions: [
    q('maintainer', 'Who is supporting, hosting and maintaining the dataset?'),
    q('contact', 'How can the owner, curator or manager be contacted?'),
    q('erratum', 'Is there an erratum?'),
    q('updates', 'Will the dataset be updated (corrections, additions, deletions)? How often, by whom, how communicated?'),
    q('retention', 'Are there limits on the retention of data about people?'),
    q('versions', 'Will older versions remain supported?'),
    q('contributions', 'Can others extend or contribute to the dataset? How?'),
  ] },
];
