/**
 * Every expression in the SSIS corpus parses, and the ones that feed an SMTP connection
 * manager or a Send Mail task (and a few date and string ones) evaluate to exact values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  evaluateExpression, parseExpression, toPropertyString, type SsisValue,
} from '../../../src/package/expressions/index.js';
import {
  corpusExpressionCount, corpusExpressions, type CorpusExpression,
} from './corpus-expressions.js';
import { corpusSkipReason } from '../../support/corpus.js';
import { bool, i4, scopeOf, wstr } from './helpers.js';

const all = corpusExpressions();

function expressionAt(file: string, line: number, property: string): CorpusExpression {
  const found = all.find((e) => e.file === file && e.line === line && e.property === property);
  assert.ok(found, `no ${property} expression at ${file}:${line}`);
  return found;
}

function evaluateAt(
  file: string, line: number, property: string, vars: Record<string, SsisValue>,
): string {
  return toPropertyString(evaluateExpression(expressionAt(file, line, property).text,
    scopeOf(vars)));
}

describe('the corpus expressions', { skip: corpusSkipReason }, () => {
  it('are all extracted (one per expression element or attribute)', () => {
    assert.equal(all.length, corpusExpressionCount());
    assert.ok(all.length >= 150, `only ${all.length} expressions found`);
  });

  it('all parse', () => {
    const failures = all
      .filter((e) => e.text.trim() !== '')
      .flatMap((e) => {
        try {
          parseExpression(e.text);
          return [];
        } catch (err) {
          return [`${e.file}:${e.line} ${e.property}: ${(err as Error).message}`];
        }
      });
    assert.deepEqual(failures, []);
  });
});

describe('dataalias: OnError Send Mail tasks', { skip: corpusSkipReason }, () => {
  const file = 'dataalias/AzureFunction_pg_CallDataFactory.dtsx';
  const vars = {
    'System::PackageName': wstr('AzureFunction_pg_CallDataFactory'),
    'System::MachineName': wstr('ETL01'),
    '$Package::pkg_IssueId': i4(4711),
    '$Project::prj_From_ErrorMail': wstr('user1@example.com'),
    '$Project::prj_To_ErrorMail': wstr('user2@example.com'),
    '$Project::prj_conn_SMTP': wstr('SmtpServer=smtp1.example.com;UseWindowsAuthentication=False;'),
  };

  it('evaluates Subject, MessageSource, FromLine and ToLine of both tasks', () => {
    for (const line of [1861, 2031]) {
      assert.equal(evaluateAt(file, line, 'FromLine', vars), 'user1@example.com');
      assert.equal(evaluateAt(file, line + 2, 'MessageSource', vars),
        'Additional information on this error can be found  in the project catalog report for ' +
          'IssueId: 4711 for  package: AzureFunction_pg_CallDataFactory on ETL01');
      assert.equal(evaluateAt(file, line + 4, 'Subject', vars),
        'Staging package: AzureFunction_pg_CallDataFactory Failed on ETL01');
      assert.equal(evaluateAt(file, line + 6, 'ToLine', vars), 'user2@example.com');
    }
  });

  it('evaluates the connection string expression of the SMTP connection manager', () => {
    assert.equal(evaluateAt(file, 26, 'ConnectionString', vars),
      'SmtpServer=smtp1.example.com;UseWindowsAuthentication=False;');
  });

  it('builds the yyyymmdd date variable from GETDATE()', () => {
    assert.equal(evaluateAt(file, 125, 'Expression', vars), '20021104');
  });
});

describe('yatamcharishma: success and failure mails', { skip: corpusSkipReason }, () => {
  const file = 'yatamcharishma/MasterLoad_Template.dtsx';
  const vars = {
    'System::PackageName': wstr('MasterLoad_Template'),
    'System::ErrorDescription': wstr('Login failed for user.'),
    '$Project::EmailFromLine': wstr('user3@example.com'),
    '$Project::EmailToLine': wstr('user4@example.com;user5@example.com'),
    '$Project::EnableSuccessEmail': bool(true),
    PackageStatus: wstr('Success'),
  };

  it('evaluates the failure message with its \\n\\n escapes', () => {
    assert.equal(evaluateAt(file, 1163, 'MessageSource', vars),
      'MasterLoad_Template load failed. \n\nLogin failed for user.');
    assert.equal(evaluateAt(file, 1165, 'Subject', vars),
      'ETL Package MasterLoad_Template Failed.');
    assert.equal(evaluateAt(file, 1167, 'ToLine', vars), 'user4@example.com;user5@example.com');
  });

  it('evaluates the success message', () => {
    assert.equal(evaluateAt(file, 185, 'MessageSource', vars),
      'MasterLoad_Template has completed successfully.');
    assert.equal(evaluateAt(file, 187, 'Subject', vars),
      'ETL Package MasterLoad_Template Completed Successfully.');
    assert.equal(evaluateAt(file, 183, 'FromLine', vars), 'user3@example.com');
  });

  it('evaluates the precedence constraint that gates the success mail', () => {
    assert.equal(evaluateAt(file, 492, 'Expression', vars), 'True');
    assert.equal(evaluateAt(file, 492, 'Expression', { ...vars, PackageStatus: wstr('Failure') }),
      'False');
  });

  it('evaluates the project connection manager expression', () => {
    const conmgr = 'yatamcharishma/SMTP.conmgr';
    const text = all.find((e) => e.file === conmgr && e.property === 'ConnectionString')!.text;
    assert.equal(toPropertyString(evaluateExpression(text, scopeOf({
      '$Project::SMTP_ConnectionString': wstr('SmtpServer=smtp2.example.com;'),
    }))), 'SmtpServer=smtp2.example.com;');
  });
});

describe('vglukhov: Cyrillic literals and the conditional operator',
  { skip: corpusSkipReason }, () => {
  const file = 'vglukhov/Valio_Reports.dtsx';

  it('evaluates the Subject for a month and for a week', () => {
    assert.equal(evaluateAt(file, 764, 'Subject', { 'User::Period': wstr('month') }),
      'Отчет VALIO ( Продажи, Возвраты, Месяц )');
    assert.equal(evaluateAt(file, 764, 'Subject', { 'User::Period': wstr(' month  ') }),
      'Отчет VALIO ( Продажи, Возвраты, Месяц )');
    assert.equal(evaluateAt(file, 764, 'Subject', { 'User::Period': wstr('week') }),
      'Отчет VALIO ( Продажи, Возвраты, Неделя )');
    // == is case-sensitive: "Month" is not "month".
    assert.equal(evaluateAt(file, 764, 'Subject', { 'User::Period': wstr('Month') }),
      'Отчет VALIO ( Продажи, Возвраты, Неделя )');
  });

  it('evaluates the multi-line MessageSource (XML line breaks inside the literal)', () => {
    const body = evaluateAt(file, 750, 'MessageSource', { 'User::Period': wstr('week') });
    assert.equal(body, [
      'Вложенный файл содержит отчеты по продажам и возвратам продуктов VALIO за прошедшую неделю.',
      '--',
      '',
      'Перед отправкой в VALIO необходимо проверить корректность заполнения отчета:',
      '1) Проверить соответствие диапазона дат отчетному периоду.',
      '2) Проверить список клиентов (!)',
      '3) Проверить заполнение полей. Если появился клиент с незаполненными полями необходимо ' +
        'занести недостающую информацию в ЛокОФФИС в карточку клиента на закладке Картотека. ' +
        'Эти изменения появятся в отчете только на следующий день, после перестроения SQL базы ' +
        'для кубов.',
      '',
      '--',
      '',
      'Ответственный исполнитель: Иванова Мария',
      '--',
      '',
      'С уважением,',
      'Отдел автоматизации (ServSQL2)',
    ].join('\n'));
    assert.match(evaluateAt(file, 750, 'MessageSource', { 'User::Period': wstr('month') }),
      /^Вложенный файл .* за прошедший месяц\.\n--\n/);
  });

  it('evaluates the attachment path expression', () => {
    assert.equal(evaluateAt(file, 750, 'FileAttachments', { 'User::FNameArh': wstr('D:\\a.rar') }),
      'D:\\a.rar');
  });
});

describe('sreeman2: SSIS 2005 Send Mail expressions', { skip: corpusSkipReason }, () => {
  const file = 'sreeman2/PES_WEEKLY_REJECTS.dtsx';

  it('evaluates MessageSource with \\n escapes and the Subject', () => {
    assert.equal(evaluateAt(file, 771, 'MessageSource', {}),
      'Hi Support Team,\n\n Please find attached the weekly rejects report during staging to ' +
        'DW load.\n\nFrom,\nPES\n\nNote :This is a system generated Email. Please do not respond ' +
        'to this Email.');
    assert.equal(evaluateAt(file, 771, 'Subject', { 'User::V_Database': wstr('PESDW') }),
      'Rejected records during Staging to DW load in  PESDW');
    assert.equal(evaluateAt(file, 944, 'Subject', { 'User::V_Database': wstr('PESDW') }),
      'Rejected records during PESDW to Staging load in   PESDW');
    assert.equal(evaluateAt(file, 771, 'ToLine', { 'User::V_ToAdd': wstr('user6@example.com') }),
      'user6@example.com');
  });

  it('evaluates the 2005 precedence constraint @VarCnt>0', () => {
    assert.equal(evaluateAt(file, 947, 'Expression', { VarCnt: i4(0) }), 'False');
    assert.equal(evaluateAt(file, 947, 'Expression', { VarCnt: i4(12) }), 'True');
  });
});

describe('ricardobarrero and ranarauf: variables in Subject, ToLine and Disable',
  { skip: corpusSkipReason }, () => {
  it('concatenates the Subject variable and the package name', () => {
    assert.equal(evaluateAt('ricardobarrero/IQUOTE - 100 - LoadFiles.dtsx', 3969, 'Subject', {
      'User::VStr_Subject': wstr('Carga correcta: '),
      'System::PackageName': wstr('IQUOTE - 100 - LoadFiles'),
    }), 'Carga correcta: IQUOTE - 100 - LoadFiles');
  });

  it('chooses the FTP connection string with a conditional on an integer', () => {
    const vars = (mode: number): Record<string, SsisValue> => ({
      'User::VInt_TipoEjecucion': i4(mode),
      'User::VStr_FTP': wstr('ftp-main'),
      'User::VStr_FTP_Replica': wstr('ftp-replica'),
    });
    const file = 'ricardobarrero/IQUOTE - 100 - LoadFiles.dtsx';
    assert.equal(evaluateAt(file, 194, 'ConnectionString', vars(1)), 'ftp-main');
    assert.equal(evaluateAt(file, 194, 'ConnectionString', vars(2)), 'ftp-replica');
  });

  it('negates a Boolean for the Disable property', () => {
    const file = 'ranarauf/pkg_FDD_ETL_Traffic_Updates.dtsx';
    const initialLoad = { 'User::blnIsInitialLoad': bool(true) };
    assert.equal(evaluateAt(file, 1046, 'Disable', initialLoad), 'False');
    const disabled = { 'User::blnDisableSendTo': bool(true) };
    assert.equal(evaluateAt(file, 1917, 'Disable', disabled), 'True');
  });
});

describe('date and path expressions elsewhere in the corpus', { skip: corpusSkipReason }, () => {
  it('epzingg: yesterday as yyyymmdd with DATEADD and a parameter', () => {
    assert.equal(evaluateAt('epzingg/FileE1_2SF.dtsx', 338, 'Expression', {
      '$Package::pmDaysBack': i4(1),
    }), '20021103');
  });

  it('epzingg: REPLACE over a concatenated SQL statement', () => {
    assert.equal(evaluateAt('epzingg/FileE1_2SF.dtsx', 520, 'SqlStatementSource', {
      'User::varSQLTableName': wstr('[dbo].[stg_File_E1] '),
      'User::varFileDate': wstr('2002*11'),
    }), "DELETE FROM  [dbo].[stg_File_E1]  WHERE filename LIKE '%2002%11%'");
  });

  it('santhoshballa: yyyymmdd with DT_STR casts and lower-case getdate()', () => {
    assert.equal(evaluateAt('santhoshballa/HAP_H376_RE_CareRadius.dtsx', 617, 'Expression', {}),
      '20021104');
  });

  it('advgrower: archive file name from SUBSTRING, FINDSTRING and LEN', () => {
    assert.equal(evaluateAt('advgrower/Package.dtsx', 269, 'Expression', {
      'User::varArchiveFolder': wstr('C:\\Archive'),
      'User::varFileName': wstr('sales.csv'),
      'System::ExecutionInstanceGUID': wstr('{D2C3}'),
    }), 'C:\\Archive\\sales-{D2C3}.csv');
  });
});
